/**
 * The generator side of a weight update: pause admission of new requests, drain the requests in
 * flight (or let them reach a token boundary), load the new weights, bump the version, resume.
 * Knows nothing of models or generation: the generator wraps each request in `run()` and, for
 * long requests, calls `boundary()` between tokens.
 */
import { StoreArgumentError } from "./errors.ts";

export interface UpdateTiming {
  version: number;
  /** From pausing admission to resuming it: how long new requests waited. */
  pausedMs: number;
  /** Part of the pause spent waiting for in-flight requests to finish or reach a boundary. */
  drainMs: number;
  /** Part of the pause spent in `load`. */
  loadMs: number;
}

export class VersionGate {
  #version: number;
  #inFlight = 0;
  #paused = false;
  #resumed: Promise<void> = Promise.resolve();
  #resume: () => void = () => {};
  #drained: (() => void) | undefined;
  #updates: Promise<unknown> = Promise.resolve();

  /** @param version the version of the weights loaded now. @default 0 */
  constructor(version = 0) {
    if (!Number.isInteger(version) || version < 0) throw new StoreArgumentError("version", "must be a non-negative integer", version);
    this.#version = version;
  }

  /** The version of the weights requests run against (stamp it on completions). */
  get version(): number {
    return this.#version;
  }
  /** Requests admitted and not finished (and not parked at a boundary). */
  get inFlight(): number {
    return this.#inFlight;
  }
  /** Whether an update holds admission closed. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Runs one request: waits while an update is in progress, and counts it as in flight. */
  async run<T>(fn: (version: number) => Promise<T> | T): Promise<T> {
    while (this.#paused) await this.#resumed;
    this.#inFlight++;
    try {
      return await fn(this.#version);
    } finally {
      this.#leave();
    }
  }

  /**
   * Inside `run`: a token boundary. When an update is waiting, this request steps aside (stops
   * counting as in flight) until the new weights are loaded; returns the version to continue with.
   */
  async boundary(): Promise<number> {
    if (!this.#paused) return this.#version;
    this.#leave();
    while (this.#paused) await this.#resumed;
    this.#inFlight++;
    return this.#version;
  }

  /**
   * Pauses admission, waits for in-flight requests to drain, runs `load`, sets `version`,
   * resumes. Updates queue behind each other. If `load` throws, the version is unchanged,
   * admission resumes, and the error propagates.
   */
  update(version: number, load: () => Promise<void> | void): Promise<UpdateTiming> {
    if (!Number.isInteger(version) || version < 0) throw new StoreArgumentError("version", "must be a non-negative integer", version);
    const run = this.#updates.then(async () => {
      const t0 = performance.now();
      this.#paused = true;
      this.#resumed = new Promise((r) => (this.#resume = r));
      try {
        if (this.#inFlight > 0) await new Promise<void>((r) => (this.#drained = r));
        const t1 = performance.now();
        await load();
        const t2 = performance.now();
        this.#version = version;
        return { version, pausedMs: t2 - t0, drainMs: t1 - t0, loadMs: t2 - t1 };
      } finally {
        this.#paused = false;
        this.#drained = undefined;
        this.#resume();
      }
    });
    this.#updates = run.catch(() => {});
    return run;
  }

  #leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#drained) {
      const d = this.#drained;
      this.#drained = undefined;
      d();
    }
  }
}
