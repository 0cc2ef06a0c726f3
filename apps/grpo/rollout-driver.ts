/**
 * How rollouts feed the trainer, behind one `nextBatch`: `InlineRollouts` (colocated: generator
 * and trainer share the cores and the weights, so a rollout runs only when the replay buffer
 * cannot fill a batch — one thread, deterministic, so resume is exact) and `BackgroundRollouts`
 * (separate processes: `workers` loops keep the generator replicas busy while the trainer
 * steps, bounded by the buffer's back-pressure and the staleness bound `max_policy_age`).
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

/** Most empty rollouts in a row before giving up. */
const MAX_EMPTY = 16;

export class InlineRollouts implements RolloutDriver {
  constructor(
    private readonly buffer: ReplayBuffer<Episode>,
    private readonly collect: CollectRollout,
  ) {}

  async nextBatch(policyVersion: number, tag: number, signal?: AbortSignal): Promise<Episode[][]> {
    for (let attempt = 0; ; attempt++) {
      const batches = this.buffer.sample(policyVersion);
      if (batches) return batches;
      signal?.throwIfAborted();
      if (attempt >= MAX_EMPTY) throw new NoTrainableGroupsError(attempt);
      for (const e of await this.collect(tag, attempt)) this.buffer.add(e);
    }
  }

  async stop(): Promise<void> {}
}

export class BackgroundRollouts implements RolloutDriver {
  #stopped = false;
  #error: unknown;
  #emptyInARow = 0;
  readonly #loops: Promise<void>[];

  constructor(
    private readonly buffer: ReplayBuffer<Episode>,
    collect: CollectRollout,
    options: { workers: number; maxBuffered: number },
  ) {
    this.#loops = Array.from({ length: options.workers }, async (_, w) => {
      for (let i = 0; !this.#stopped && this.#error === undefined; i++) {
        if (this.buffer.size >= options.maxBuffered) {
          await sleep(5);
          continue;
        }
        try {
          const episodes = await collect(1_000_000 * (w + 1) + i, 0);
          for (const e of episodes) this.buffer.add(e);
          this.#emptyInARow = episodes.length > 0 ? 0 : this.#emptyInARow + 1;
        } catch (err) {
          this.#error = err;
        }
      }
    });
  }

  async nextBatch(policyVersion: number, _tag: number, signal?: AbortSignal): Promise<Episode[][]> {
    for (;;) {
      const batches = this.buffer.sample(policyVersion);
      if (batches) return batches;
      if (this.#error !== undefined) throw this.#error;
      signal?.throwIfAborted();
      if (this.#emptyInARow >= MAX_EMPTY) throw new NoTrainableGroupsError(this.#emptyInARow);
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
