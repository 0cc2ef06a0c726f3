/**
 * Many episodes in flight, one batched generator: each episode asks for one completion at a
 * time; the batcher gathers the requests that arrive while the generator is busy (or in the
 * same tick) and sends them as one `generate` call, so the engine's continuous batching runs
 * across episodes. Requests with different sampling parameters (e.g. a smaller per-turn budget)
 * go in separate calls.
 *
 * Not done here: handing a finished sequence back before its whole call ends (the engine returns
 * a call's completions together), and keeping an episode's KV cache between its turns (the
 * engine prefills each turn's prompt again).
 */
import type { Completion, SamplingParams } from "../generation/index.ts";
import { RolloutError } from "./errors.ts";

/** What rollouts need of a generator: the in-process engine or a service proxy. */
export interface BatchGenerator {
  generate(requests: { prompt: number[]; seed?: number }[], sampling: SamplingParams): Promise<Completion[]>;
}

export interface RequestBatcherOptions {
  /** Most `generate` calls in flight at once (more than 1 for several generator replicas). @default 1 */
  maxInFlight?: number;
  /** Most requests in one call. @default 256 */
  maxBatch?: number;
}

interface Pending {
  prompt: number[];
  seed: number;
  resolve(c: Completion): void;
  reject(err: unknown): void;
}

export class RequestBatcher {
  readonly #generator: BatchGenerator;
  readonly #maxInFlight: number;
  readonly #maxBatch: number;
  /** Pending requests per sampling key, in arrival order. */
  readonly #queues = new Map<string, { sampling: SamplingParams; items: Pending[] }>();
  #inFlight = 0;
  #scheduled = false;
  /** Calls made and requests sent, for metrics (mean batch = requests / calls). */
  calls = 0;
  requests = 0;

  constructor(generator: BatchGenerator, options: RequestBatcherOptions = {}) {
    this.#generator = generator;
    this.#maxInFlight = options.maxInFlight ?? 1;
    this.#maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) throw new RolloutError("maxInFlight", `must be a positive integer; got ${options.maxInFlight}`);
    if (!Number.isInteger(this.#maxBatch) || this.#maxBatch < 1) throw new RolloutError("maxBatch", `must be a positive integer; got ${options.maxBatch}`);
  }

  /** One completion of `prompt` (sampling `n` is ignored: one sample per request). */
  generate(prompt: number[], sampling: SamplingParams & { seed: number }): Promise<Completion> {
    const { seed, n: _n, ...rest } = sampling;
    const key = JSON.stringify(rest);
    let queue = this.#queues.get(key);
    if (!queue) this.#queues.set(key, (queue = { sampling: rest, items: [] }));
    return new Promise<Completion>((resolve, reject) => {
      queue.items.push({ prompt, seed, resolve, reject });
      this.#schedule();
    });
  }

  /** Flushes on the next turn of the event loop, so requests made in the same tick share a call. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#inFlight < this.#maxInFlight) {
      // The longest queue first: the biggest batch makes the most of one call.
      let best: { sampling: SamplingParams; items: Pending[] } | undefined;
      for (const q of this.#queues.values()) if (q.items.length && (!best || q.items.length > best.items.length)) best = q;
      if (!best) return;
      const batch = best.items.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.calls++;
      this.requests += batch.length;
      this.#generator
        .generate(batch.map((p) => ({ prompt: p.prompt, seed: p.seed })), { ...best.sampling, n: 1 })
        .then(
          (completions) => {
            const byRequest = new Map(completions.map((c) => [c.requestIndex, c]));
            batch.forEach((p, i) => {
              const c = byRequest.get(i);
              if (c) p.resolve(c);
              else p.reject(new RolloutError("generator", `returned no completion for request ${i} of a batch of ${batch.length}`));
            });
          },
          (err) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#schedule();
        });
    }
  }
}
