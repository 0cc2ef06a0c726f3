/**
 * `ExampleSampler`: the `dataset.sample()` of the GRPO loop. It draws examples from an in-memory
 * list through an `EpochSampler`, so sampling is seeded, covers every example once per epoch and
 * resumes exactly from `stateDict()`.
 */
import { DataOptionError } from "./errors.ts";
import { EpochSampler, type EpochSamplerState } from "./sampler.ts";

export interface ExampleSamplerOptions<T> {
  /** The examples to draw from (not copied; do not mutate while sampling). */
  examples: readonly T[];
  /** @default 0 */
  seed?: number;
  /** Shuffle every epoch. @default true */
  shuffle?: boolean;
}

export class ExampleSampler<T> {
  readonly examples: readonly T[];
  readonly #sampler: EpochSampler;

  constructor(options: ExampleSamplerOptions<T>) {
    if (!Array.isArray(options?.examples) || options.examples.length === 0) {
      throw new DataOptionError("examples", "a non-empty array", options?.examples);
    }
    this.examples = options.examples;
    this.#sampler = new EpochSampler({ size: options.examples.length, seed: options.seed, shuffle: options.shuffle });
  }

  /** Completed passes over the examples. */
  get epoch(): number {
    return this.#sampler.epoch;
  }

  sample(): T {
    return this.examples[this.#sampler.next().index];
  }

  sampleBatch(count: number): T[] {
    return this.#sampler.nextBatch(count).map((i) => this.examples[i]);
  }

  stateDict(): EpochSamplerState {
    return this.#sampler.stateDict();
  }

  loadStateDict(state: EpochSamplerState): void {
    this.#sampler.loadStateDict(state);
  }
}
