/**
 * Weight updates for a generator: fetch the next version in the background while requests keep
 * running (into reusable staging tensors), then apply it under a `VersionGate` pause — so the
 * pause costs only the in-memory apply, not the transfer.
 *
 * ```ts
 * const versions = new VersionedStore(SharedMemoryStore.open({ root }));
 * const syncer = new WeightSyncer({
 *   fetch: async (v, staging) => (await versions.get(v, { into: staging })).value,
 *   apply: (weights) => copyStateDict(params, weights),
 * });
 * const out = await syncer.gate.run(() => engine.generate(prompt));   // every request
 * void syncer.prefetch(7);                                            // when version 7 is announced
 * await syncer.update(7);                                             // pause, apply, bump, resume
 * ```
 */
import { StoreArgumentError } from "./errors.ts";
import type { StateDict } from "./types.ts";
import { type UpdateTiming, VersionGate } from "./version-gate.ts";

export interface WeightSyncerOptions {
  /** Reads `version`, filling `staging` when given (a state dict returned by an earlier fetch). */
  fetch(version: number, staging: StateDict | undefined): Promise<StateDict>;
  /** Loads fetched weights into the live model; runs while admission is paused and nothing is in flight. */
  apply(weights: StateDict, version: number): Promise<void> | void;
  /** The gate requests run under. @default new VersionGate(0) */
  gate?: VersionGate;
  /**
   * Pass the previous fetch's tensors as `staging` to the next fetch, so prefetching allocates
   * nothing after the first version. Turn off when `apply` keeps the tensors it is given
   * (e.g. swaps them into the model) instead of copying from them. @default true
   */
  reuseStaging?: boolean;
}

export interface SyncTiming extends UpdateTiming {
  /** Time spent fetching that was not hidden behind generation (0 when prefetched in time). */
  fetchWaitMs: number;
}

export class WeightSyncer {
  readonly gate: VersionGate;
  readonly #o: WeightSyncerOptions;
  #staging: StateDict | undefined;
  #prefetch: { version: number; weights: Promise<StateDict> } | undefined;

  constructor(options: WeightSyncerOptions) {
    if (typeof options?.fetch !== "function") throw new StoreArgumentError("options.fetch", "must be a function (version, staging) => Promise<StateDict>", options?.fetch);
    if (typeof options.apply !== "function") throw new StoreArgumentError("options.apply", "must be a function (weights, version) => void", options.apply);
    this.#o = options;
    this.gate = options.gate ?? new VersionGate(0);
  }

  /** Starts fetching `version` without pausing anything. Idempotent per version. */
  prefetch(version: number): Promise<void> {
    return this.#start(version).weights.then(() => {});
  }

  #start(version: number): { version: number; weights: Promise<StateDict> } {
    if (this.#prefetch?.version !== version) {
      const staging = this.#o.reuseStaging === false ? undefined : this.#staging;
      const weights = this.#o.fetch(version, staging);
      weights.catch(() => {}); // surfaced by update()
      this.#prefetch = { version, weights };
    }
    return this.#prefetch;
  }

  /** Applies `version` (prefetching it now if nobody did) under a gate pause; a version not newer than the gate's is a no-op. */
  async update(version: number): Promise<SyncTiming> {
    if (version <= this.gate.version) return { version: this.gate.version, pausedMs: 0, drainMs: 0, loadMs: 0, fetchWaitMs: 0 };
    const t0 = performance.now();
    const pending = this.#start(version);
    let weights: StateDict;
    try {
      weights = await pending.weights;
    } finally {
      if (this.#prefetch === pending) this.#prefetch = undefined;
    }
    const fetchWaitMs = performance.now() - t0;
    const timing = await this.gate.update(version, () => this.#o.apply(weights, version));
    if (this.#o.reuseStaging !== false) this.#staging = weights;
    return { ...timing, fetchWaitMs };
  }
}
