/**
 * `EpochSampler`: yields dataset indices epoch after epoch. With `shuffle`, each epoch is a fresh
 * permutation derived from (seed, epoch), so the order depends only on the seed and a resumed run
 * continues exactly: the state is just { epoch, position }.
 */
import { DataOptionError, SamplerStateError } from "./errors.ts";
import { checkSeed, deriveSeed, SeededRandom } from "./random.ts";

export interface EpochSamplerOptions {
  /** Number of items in the dataset. */
  size: number;
  /** Seed for the per-epoch permutations. @default 0 */
  seed?: number;
  /** Shuffle every epoch; when false, indices come in order 0…size-1. @default true */
  shuffle?: boolean;
}

/** Everything needed to resume a sampler; plain JSON. */
export interface EpochSamplerState {
  size: number;
  seed: number;
  shuffle: boolean;
  epoch: number;
  /** Index into the current epoch's order of the next item to yield. */
  position: number;
}

/** One sampled index and the epoch it belongs to. */
export interface SampledIndex {
  index: number;
  epoch: number;
}

export class EpochSampler {
  readonly size: number;
  readonly seed: number;
  readonly shuffle: boolean;
  #epoch = 0;
  #position = 0;
  #order: Uint32Array | undefined;

  constructor(options: EpochSamplerOptions) {
    const size = options?.size;
    if (!Number.isSafeInteger(size) || size <= 0 || size > 0xffffffff) {
      throw new DataOptionError("size", "a positive integer (the dataset length)", size);
    }
    this.size = size;
    this.seed = checkSeed("seed", options.seed ?? 0);
    this.shuffle = options.shuffle ?? true;
  }

  /** Completed-epoch counter: 0 during the first pass. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The next index; rolls over to a new epoch after `size` items. */
  next(): SampledIndex {
    if (this.#position >= this.size) {
      this.#epoch++;
      this.#position = 0;
      this.#order = undefined;
    }
    const order = this.#currentOrder();
    const index = order ? order[this.#position] : this.#position;
    this.#position++;
    return { index, epoch: this.#epoch };
  }

  /** The next `count` indices (may cross an epoch boundary). */
  nextBatch(count: number): number[] {
    if (!Number.isSafeInteger(count) || count < 0) throw new DataOptionError("count", "a non-negative integer", count);
    return Array.from({ length: count }, () => this.next().index);
  }

  /** The full order of epoch `epoch` (a copy), e.g. for evaluation or inspection. */
  epochOrder(epoch: number): number[] {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new DataOptionError("epoch", "a non-negative integer", epoch);
    if (!this.shuffle) return Array.from({ length: this.size }, (_, i) => i);
    return Array.from(permutation(this.size, this.seed, epoch));
  }

  stateDict(): EpochSamplerState {
    return { size: this.size, seed: this.seed, shuffle: this.shuffle, epoch: this.#epoch, position: this.#position };
  }

  /** Restores a state saved by `stateDict`; the dataset size, seed and shuffle must match. */
  loadStateDict(state: EpochSamplerState): void {
    if (state?.size !== this.size) throw new SamplerStateError("size", `${this.size} (this sampler's dataset size)`, state?.size);
    if (state.seed !== this.seed) throw new SamplerStateError("seed", `${this.seed} (this sampler's seed)`, state.seed);
    if (state.shuffle !== this.shuffle) throw new SamplerStateError("shuffle", String(this.shuffle), state.shuffle);
    if (!Number.isSafeInteger(state.epoch) || state.epoch < 0) throw new SamplerStateError("epoch", "a non-negative integer", state.epoch);
    if (!Number.isSafeInteger(state.position) || state.position < 0 || state.position > this.size) {
      throw new SamplerStateError("position", `an integer in [0, ${this.size}]`, state.position);
    }
    this.#epoch = state.epoch;
    this.#position = state.position;
    this.#order = undefined;
  }

  #currentOrder(): Uint32Array | undefined {
    if (!this.shuffle) return undefined;
    this.#order ??= permutation(this.size, this.seed, this.#epoch);
    return this.#order;
  }
}

/** A permutation of 0…size-1 determined by (seed, epoch). */
function permutation(size: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  const rng = new SeededRandom(deriveSeed(seed, epoch + 1));
  for (let i = size - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}
