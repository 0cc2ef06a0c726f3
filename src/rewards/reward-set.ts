/**
 * `RewardSet`: several rewards combined into one score per completion, with a per-function
 * breakdown. This is the reward service's logic without the actor: a reward that throws, times
 * out or returns a non-finite value becomes a recorded failure scoring `failureValue` (0) for that
 * episode, never an exception, so one bad episode cannot stop a run.
 *
 * Timeouts: an async reward is abandoned after `timeoutMs` (its `context.signal` is aborted so it
 * can stop). A synchronous reward cannot be interrupted in JavaScript; if it overruns, its value is
 * discarded and a timeout is recorded once it returns. Rewards that may hang belong in a worker.
 */
import { describe, RewardOptionError, RewardTimeoutError } from "./errors.ts";
import { rewardName, toRewardFunction, type RewardFunction, type RewardLike } from "./reward.ts";
import { checkNumberOption } from "./validate.ts";

/** One member of a `RewardSet`, with an explicit name and weight. */
export interface RewardSetEntry {
  reward: RewardLike;
  /** Name in the breakdown; defaults to the reward's `name` (class name or function name). */
  name?: string;
  /** Weight in the combination. @default 1 */
  weight?: number;
}

/** How member scores combine. `"mean"`: Σ wᵢrᵢ / Σ wᵢ (torchforge's average); `"sum"`: Σ wᵢrᵢ. */
export type RewardAggregation = "mean" | "sum";

export interface RewardSetOptions {
  /** The rewards; plain functions, `Reward` objects or entries with name/weight. */
  rewards: ReadonlyArray<RewardLike | RewardSetEntry>;
  /** @default "mean" */
  aggregation?: RewardAggregation;
  /** Per-reward time limit in milliseconds. @default 30_000 */
  timeoutMs?: number;
  /** Score recorded for a failed reward. @default 0 */
  failureValue?: number;
}

/** What one completion is scored on. */
export interface RewardInput {
  prompt: string;
  response: string;
  target: string;
  /** Token count of the response, for length-based rewards. */
  responseTokens?: number;
}

/** Why a reward produced no score. */
export type RewardFailureKind = "error" | "timeout" | "invalid-value";

export interface RewardFailure {
  /** The reward's name in the breakdown. */
  reward: string;
  kind: RewardFailureKind;
  message: string;
  /** The thrown value (or a `RewardTimeoutError`), for logging. */
  cause?: unknown;
}

export interface RewardResult {
  /** Combined score. */
  reward: number;
  /** Each reward's score by name (`failureValue` for failures). */
  breakdown: Record<string, number>;
  /** Failures for this completion; empty when every reward succeeded. */
  failures: RewardFailure[];
  /** Wall time of each reward in milliseconds. */
  durationsMs: Record<string, number>;
}

interface Member {
  name: string;
  weight: number;
  fn: RewardFunction;
}

export class RewardSet {
  readonly aggregation: RewardAggregation;
  readonly timeoutMs: number;
  readonly failureValue: number;
  readonly #members: Member[];
  readonly #weightSum: number;

  constructor(options: RewardSetOptions) {
    if (!options || !Array.isArray(options.rewards) || options.rewards.length === 0) {
      throw new RewardOptionError("rewards", "a non-empty array of rewards", options?.rewards);
    }
    const aggregation = options.aggregation ?? "mean";
    if (aggregation !== "mean" && aggregation !== "sum") {
      throw new RewardOptionError("aggregation", '"mean" or "sum"', aggregation);
    }
    this.aggregation = aggregation;
    this.timeoutMs = checkNumberOption("timeoutMs", options.timeoutMs ?? 30_000, { min: 0, exclusiveMin: true });
    this.failureValue = checkNumberOption("failureValue", options.failureValue ?? 0);
    this.#members = options.rewards.map((item, i) => toMember(item, i));
    const seen = new Set<string>();
    for (const [i, m] of this.#members.entries()) {
      if (seen.has(m.name)) throw new RewardOptionError(`rewards[${i}].name`, "a name not used by another reward", m.name);
      seen.add(m.name);
    }
    this.#weightSum = this.#members.reduce((s, m) => s + m.weight, 0);
    if (aggregation === "mean" && this.#weightSum <= 0) {
      throw new RewardOptionError("rewards[].weight", 'weights with a positive sum for aggregation "mean"', this.#weightSum);
    }
  }

  /** Names in breakdown order. */
  get names(): string[] {
    return this.#members.map((m) => m.name);
  }

  /** Scores one completion. Never rejects because of a reward function. */
  async evaluate(input: RewardInput): Promise<RewardResult> {
    const outcomes = await Promise.all(this.#members.map((m) => this.#run(m, input)));
    const breakdown: Record<string, number> = {};
    const durationsMs: Record<string, number> = {};
    const failures: RewardFailure[] = [];
    let total = 0;
    for (const [i, m] of this.#members.entries()) {
      const o = outcomes[i];
      const value = o.failure ? this.failureValue : o.value;
      if (o.failure) failures.push(o.failure);
      breakdown[m.name] = value;
      durationsMs[m.name] = o.durationMs;
      total += m.weight * value;
    }
    const reward = this.aggregation === "mean" ? total / this.#weightSum : total;
    return { reward, breakdown, failures, durationsMs };
  }

  /** Scores many completions concurrently, in input order. */
  evaluateBatch(inputs: readonly RewardInput[]): Promise<RewardResult[]> {
    return Promise.all(inputs.map((input) => this.evaluate(input)));
  }

  async #run(m: Member, input: RewardInput): Promise<Outcome> {
    const controller = new AbortController();
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = Promise.resolve(
        m.fn(input.prompt, input.response, input.target, {
          responseTokens: input.responseTokens,
          signal: controller.signal,
        }),
      );
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
      });
      const value = await Promise.race([pending, timeout]);
      if (value === TIMED_OUT || elapsed() > this.timeoutMs) {
        controller.abort();
        pending.catch(() => {}); // a late rejection must not become an unhandled rejection
        const error = new RewardTimeoutError(m.name, this.timeoutMs);
        return { value: 0, durationMs: elapsed(), failure: { reward: m.name, kind: "timeout", message: error.message, cause: error } };
      }
      if (typeof value !== "number" || !Number.isFinite(value)) {
        const message = `reward '${m.name}' returned ${describe(value)}, expected a finite number`;
        return { value: 0, durationMs: elapsed(), failure: { reward: m.name, kind: "invalid-value", message } };
      }
      return { value, durationMs: elapsed() };
    } catch (error) {
      const message = `reward '${m.name}' threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      return { value: 0, durationMs: elapsed(), failure: { reward: m.name, kind: "error", message, cause: error } };
    } finally {
      clearTimeout(timer);
    }
  }
}

const TIMED_OUT = Symbol("timedOut");

interface Outcome {
  value: number;
  durationMs: number;
  failure?: RewardFailure;
}

function isEntry(item: RewardLike | RewardSetEntry): item is RewardSetEntry {
  return typeof item === "object" && item !== null && "reward" in item && !("evaluate" in item);
}

function toMember(item: RewardLike | RewardSetEntry, i: number): Member {
  const entry: RewardSetEntry = isEntry(item) ? item : { reward: item };
  const reward = entry.reward;
  if (typeof reward !== "function" && (typeof reward !== "object" || reward === null || typeof reward.evaluate !== "function")) {
    throw new RewardOptionError(`rewards[${i}]`, "a reward function or an object with evaluate()", reward);
  }
  const name = entry.name ?? rewardName(reward) ?? `reward${i}`;
  const weight = checkNumberOption(`rewards[${i}].weight`, entry.weight ?? 1);
  return { name, weight, fn: toRewardFunction(reward) };
}
