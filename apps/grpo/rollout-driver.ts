/**
 * How rollouts feed the trainer, behind one `nextBatch`: `InlineRollouts` (colocated: generator
 * and trainer share the cores and the weights, so a rollout runs only when the replay buffer
 * cannot fill a batch — one thread, deterministic, so resume is exact), `LockstepRollouts` (the
 * same on each data-parallel rank, in step with the other ranks) and `BackgroundRollouts`
 * (separate processes: `workers` loops keep the generator replicas busy while the trainer
 * steps, bounded by the buffer's back-pressure and the staleness bound `max_policy_age`).
 * Waiting never hangs: `nextBatch` checks the abort signal, and in the background driver fails with
 * `NoProgressError` when no fresh episode (young enough to train on) arrived within the progress
 * deadline — a dead, restarting or stuck generator, or one serving stale weights.
 */
import type { Episode, ReplayBuffer } from "../../src/rl/index.ts";

/** One rollout's trainable episodes (filtered, advantages assigned); `tag`/`attempt` seed it. */
export type CollectRollout = (tag: number, attempt: number) => Promise<Episode[]>;

export interface RolloutDriver {
  /** The next training batches for `policyVersion`; rejects when rollouts fail or the signal aborts. */
  nextBatch(policyVersion: number, tag: number, signal?: AbortSignal): Promise<Episode[][]>;
  /** Stops background loops and waits for them. */
  stop(): Promise<void>;
}

export class NoTrainableGroupsError extends Error {
  override name = "NoTrainableGroupsError";
  constructor(readonly rollouts: number) {
    super(
      `${rollouts} rollouts in a row produced no trainable group (all rewards equal?); ` +
        "check the rewards or set grpo.filter_zero_variance: false",
    );
  }
}

export class NoProgressError extends Error {
  override name = "NoProgressError";
  constructor(
    readonly seconds: number,
    readonly generators: string,
  ) {
    super(
      `no episode produced in ${seconds} s: generator ${generators}; ` +
        "check the generator processes' output, or raise grpo.progress_timeout_s if a rollout legitimately takes longer",
    );
  }
}

/** Most empty rollouts in a row before giving up. */
const MAX_EMPTY = 16;

export class InlineRollouts implements RolloutDriver {
  constructor(
    private readonly buffer: ReplayBuffer<Episode>,
    private readonly collect: CollectRollout,
    /**
     * A rollout may be abandoned when the signal aborts: its generator runs in other processes (a
     * colocated engine must finish first: it is disposed right after). @default false
     */
    private readonly options: { interruptible?: boolean } = {},
  ) {}

  async nextBatch(policyVersion: number, tag: number, signal?: AbortSignal): Promise<Episode[][]> {
    for (let attempt = 0; ; attempt++) {
      const batches = this.buffer.sample(policyVersion);
      if (batches) return batches;
      signal?.throwIfAborted();
      if (attempt >= MAX_EMPTY) throw new NoTrainableGroupsError(attempt);
      const collecting = this.collect(tag, attempt);
      for (const e of await (this.options.interruptible ? untilAborted(collecting, signal) : collecting)) this.buffer.add(e);
    }
  }

  async stop(): Promise<void> {}
}

/**
 * Data-parallel colocated rollouts: each rank collects into its own replay buffer, and all ranks
 * collect in lockstep — another rollout on every rank while any rank's buffer cannot fill its
 * batch — so every rank draws its share of the same global prompt batches (the samplers never
 * drift apart) and all of them reach the train step's collectives together. A rank that already
 * has a batch keeps the extra episodes for later steps. The stop signal is not read here: ranks
 * stop together, at a step boundary, by vote (`RankCoordinator.agreeToStop`).
 */
export class LockstepRollouts implements RolloutDriver {
  constructor(
    private readonly buffer: ReplayBuffer<Episode>,
    private readonly collect: CollectRollout,
    /** True when every rank is ready (a collective over the ranks). */
    private readonly allReady: (ready: boolean) => boolean,
  ) {}

  async nextBatch(policyVersion: number, tag: number): Promise<Episode[][]> {
    for (let attempt = 0; ; attempt++) {
      this.buffer.evict(policyVersion);
      if (this.allReady(this.buffer.size >= this.buffer.batchSize * this.buffer.dpSize)) return this.buffer.sample(policyVersion)!;
      if (attempt >= MAX_EMPTY) throw new NoTrainableGroupsError(attempt); // on every rank at the same attempt
      for (const e of await this.collect(tag, attempt)) this.buffer.add(e);
    }
  }

  async stop(): Promise<void> {}
}

export interface BackgroundRolloutsOptions {
  workers: number;
  maxBuffered: number;
  /** Longest wait in `nextBatch` without a fresh episode before `NoProgressError`. @default Infinity */
  progressTimeoutMs?: number;
  /** The replay buffer's staleness bound: which episodes count as progress. @default Infinity */
  maxPolicyAge?: number;
  /** The generator's state for the `NoProgressError` message. @default "replicas (state unknown)" */
  describe?: () => string;
}

export class BackgroundRollouts implements RolloutDriver {
  #stopped = false;
  #error: unknown;
  #emptyInARow = 0;
  /** The policy version `nextBatch` last waited for, and when an episode young enough for it last arrived. */
  #waitingFor = 0;
  #lastFresh = 0;
  readonly #loops: Promise<void>[];
  readonly #o: BackgroundRolloutsOptions;

  constructor(
    private readonly buffer: ReplayBuffer<Episode>,
    collect: CollectRollout,
    options: BackgroundRolloutsOptions,
  ) {
    this.#o = options;
    this.#loops = Array.from({ length: options.workers }, async (_, w) => {
      for (let i = 0; !this.#stopped && this.#error === undefined; i++) {
        if (this.buffer.size >= options.maxBuffered) {
          await sleep(5);
          continue;
        }
        try {
          const episodes = await collect(1_000_000 * (w + 1) + i, 0);
          for (const e of episodes) this.buffer.add(e);
          const age = this.#o.maxPolicyAge ?? Infinity;
          if (episodes.some((e) => this.#waitingFor - e.policyVersion <= age)) this.#lastFresh = Date.now();
          this.#emptyInARow = episodes.length > 0 ? 0 : this.#emptyInARow + 1;
        } catch (err) {
          this.#error = err;
        }
      }
    });
  }

  async nextBatch(policyVersion: number, _tag: number, signal?: AbortSignal): Promise<Episode[][]> {
    this.#waitingFor = policyVersion;
    const since = Date.now(); // the trainer's own step time does not count against the generator
    const timeout = this.#o.progressTimeoutMs ?? Infinity;
    for (;;) {
      const batches = this.buffer.sample(policyVersion);
      if (batches) return batches;
      if (this.#error !== undefined) throw this.#error;
      signal?.throwIfAborted();
      if (this.#emptyInARow >= MAX_EMPTY) throw new NoTrainableGroupsError(this.#emptyInARow);
      if (Date.now() - Math.max(since, this.#lastFresh) > timeout) {
        throw new NoProgressError(Math.round(timeout / 100) / 10, this.#o.describe?.() ?? "replicas (state unknown)");
      }
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or the signal's AbortError as soon as it aborts; `p` then runs on and its failure is ignored. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
