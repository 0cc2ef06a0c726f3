/**
 * An in-memory replay buffer between rollouts and training (torchforge's `ReplayBuffer`, as a
 * plain class: the app wraps it in an actor if it wants one).
 *
 * - `sample(currentPolicyVersion)` first evicts stale episodes, then draws `dpSize` batches of
 *   `batchSize` distinct episodes (one batch per data-parallel rank), or returns `undefined`
 *   when too few are left.
 * - Staleness: an episode is kept while `currentPolicyVersion − policyVersion ≤ maxPolicyAge`
 *   (0 = strictly on-policy).
 * - Reuse: a sampled episode stays for reuse until it has been sampled `1 + maxResampleCount`
 *   times (0 = each episode is trained on once, as the seed).
 * - Sampling is seeded (mulberry32); `stateDict()` holds the episodes, their sample counts, the
 *   RNG state and counters, so `loadStateDict` resumes the exact same sampling sequence.
 *   Episodes must be JSON-like for the state dict to be serialisable.
 */
import { RLOptionError, ReplayBufferStateError } from "./errors.ts";
import { Mulberry32 } from "./random.ts";

export interface ReplayBufferOptions {
  /** Episodes per batch (per rank). */
  batchSize: number;
  /** Batches per `sample` call, one per data-parallel rank. @default 1 */
  dpSize?: number;
  /** Largest allowed `currentPolicyVersion − episode.policyVersion`. @default Infinity */
  maxPolicyAge?: number;
  /** Times an episode may be sampled again after its first use. @default 0 */
  maxResampleCount?: number;
  /** Oldest-first eviction beyond this many episodes. @default Infinity */
  maxBufferSize?: number;
  /** @default 0 */
  seed?: number;
}

interface Entry<E> {
  episode: E;
  sampleCount: number;
}

export interface ReplayBufferMetrics {
  size: number;
  /** Totals since construction (or since the state dict was taken). */
  evictedStale: number;
  evictedOverused: number;
  evictedOverflow: number;
  added: number;
  sampledBatches: number;
  /** Policy age (current − episode version) of the last sample: mean and max; 0 before any sample. */
  lastSampledAgeMean: number;
  lastSampledAgeMax: number;
}

export interface ReplayBufferStateDict<E> {
  entries: { episode: E; sampleCount: number }[];
  rngState: number;
  counters: Omit<ReplayBufferMetrics, "size">;
}

const intOption = (name: string, v: number, min: number, allowInf = false): number => {
  if (!((Number.isInteger(v) || (allowInf && v === Infinity)) && v >= min)) {
    throw new RLOptionError(name, `an integer >= ${min}${allowInf ? " (or Infinity)" : ""}`, v);
  }
  return v;
};

export class ReplayBuffer<E extends { policyVersion: number }> {
  readonly batchSize: number;
  readonly dpSize: number;
  readonly maxPolicyAge: number;
  readonly maxResampleCount: number;
  readonly maxBufferSize: number;
  #entries: Entry<E>[] = [];
  #rng: Mulberry32;
  #counters = { evictedStale: 0, evictedOverused: 0, evictedOverflow: 0, added: 0, sampledBatches: 0, lastSampledAgeMean: 0, lastSampledAgeMax: 0 };

  constructor(options: ReplayBufferOptions) {
    this.batchSize = intOption("batchSize", options.batchSize, 1);
    this.dpSize = intOption("dpSize", options.dpSize ?? 1, 1);
    this.maxPolicyAge = intOption("maxPolicyAge", options.maxPolicyAge ?? Infinity, 0, true);
    this.maxResampleCount = intOption("maxResampleCount", options.maxResampleCount ?? 0, 0, true);
    this.maxBufferSize = intOption("maxBufferSize", options.maxBufferSize ?? Infinity, 1, true);
    this.#rng = new Mulberry32(intOption("seed", options.seed ?? 0, 0));
  }

  get size(): number {
    return this.#entries.length;
  }

  add(episode: E): void {
    if (!Number.isInteger(episode.policyVersion)) throw new RLOptionError("episode.policyVersion", "an integer", episode.policyVersion);
    this.#entries.push({ episode, sampleCount: 0 });
    this.#counters.added++;
    while (this.#entries.length > this.maxBufferSize) {
      this.#entries.shift();
      this.#counters.evictedOverflow++;
    }
  }

  /** Drops episodes older than `maxPolicyAge` relative to `currentPolicyVersion`. */
  evict(currentPolicyVersion: number): void {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => currentPolicyVersion - e.episode.policyVersion <= this.maxPolicyAge);
    this.#counters.evictedStale += before - this.#entries.length;
  }

  /**
   * `dpSize` batches of `batchSize` distinct episodes each, or `undefined` if fewer than
   * `dpSize × batchSize` fresh episodes are buffered (nothing is consumed then).
   */
  sample(currentPolicyVersion: number): E[][] | undefined {
    if (!Number.isInteger(currentPolicyVersion)) throw new RLOptionError("currentPolicyVersion", "an integer", currentPolicyVersion);
    this.evict(currentPolicyVersion);
    const total = this.batchSize * this.dpSize;
    if (this.#entries.length < total) return undefined;
    const picked = this.#rng.sampleIndices(this.#entries.length, total).map((i) => this.#entries[i]!);
    const batches: E[][] = [];
    for (let r = 0; r < this.dpSize; r++) batches.push(picked.slice(r * this.batchSize, (r + 1) * this.batchSize).map((e) => e.episode));
    for (const e of picked) e.sampleCount++;
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.sampleCount <= this.maxResampleCount);
    this.#counters.evictedOverused += before - this.#entries.length;
    const ages = picked.map((e) => currentPolicyVersion - e.episode.policyVersion);
    this.#counters.lastSampledAgeMean = ages.reduce((a, b) => a + b, 0) / ages.length;
    this.#counters.lastSampledAgeMax = Math.max(...ages);
    this.#counters.sampledBatches += this.dpSize;
    return batches;
  }

  clear(): void {
    this.#entries = [];
  }

  metrics(): ReplayBufferMetrics {
    return { size: this.#entries.length, ...this.#counters };
  }

  /** Everything needed to resume exactly: episodes with their sample counts, RNG state, counters. */
  stateDict(): ReplayBufferStateDict<E> {
    return {
      entries: this.#entries.map((e) => ({ episode: e.episode, sampleCount: e.sampleCount })),
      rngState: this.#rng.getState(),
      counters: { ...this.#counters },
    };
  }

  loadStateDict(state: ReplayBufferStateDict<E>): void {
    if (state === null || typeof state !== "object") throw new ReplayBufferStateError("(root)", "must be an object from stateDict()");
    if (!Array.isArray(state.entries)) throw new ReplayBufferStateError("entries", "must be an array");
    state.entries.forEach((e, i) => {
      if (!e || typeof e !== "object" || !Number.isInteger(e.sampleCount) || e.sampleCount < 0) throw new ReplayBufferStateError(`entries[${i}].sampleCount`, "must be an integer >= 0");
      if (!e.episode || !Number.isInteger(e.episode.policyVersion)) throw new ReplayBufferStateError(`entries[${i}].episode.policyVersion`, "must be an integer");
    });
    if (!Number.isInteger(state.rngState)) throw new ReplayBufferStateError("rngState", "must be an integer");
    this.#entries = state.entries.map((e) => ({ episode: e.episode, sampleCount: e.sampleCount }));
    this.#rng.setState(state.rngState);
    this.#counters = { ...this.#counters, ...(state.counters ?? {}) };
  }
}
