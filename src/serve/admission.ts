/**
 * Admission control: at most `maxConcurrency` requests run at once and at most `maxQueue` wait;
 * beyond that a request is refused at once (429) instead of piling up unbounded work.
 */
import { ServeError } from "./errors.ts";

export class Admission {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  #running = 0;
  readonly #waiting: Array<{ grant: () => void }> = [];

  constructor(maxConcurrency: number, maxQueue: number) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new RangeError(`maxConcurrency must be a positive integer; got ${maxConcurrency}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be an integer >= 0; got ${maxQueue}`);
    this.maxConcurrency = maxConcurrency;
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Waits for a slot; resolves to its release function (call it exactly once). Rejects with a
   * 429 when the queue is full, or with the signal's reason when aborted while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = (): void => {
      const next = this.#waiting.shift();
      if (next) next.grant();
      else this.#running--;
    };
    let released = false;
    const once = (): void => {
      if (!released) (released = true), release();
    };
    if (this.#running < this.maxConcurrency) {
      this.#running++;
      return Promise.resolve(once);
    }
    if (this.#waiting.length >= this.maxQueue) {
      return Promise.reject(new ServeError(429, `server busy: ${this.#running} requests running and ${this.#waiting.length} queued (max_queue ${this.maxQueue}); retry later`, "rate_limit_error", null, "queue_full"));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(once);
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }
}
