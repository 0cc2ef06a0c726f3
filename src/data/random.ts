/**
 * A small seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so it can be saved
 * in a checkpoint and restored exactly. Not for cryptography; good enough for shuffling data.
 */
import { mix32, Mulberry32Stream } from "../util/mulberry32.ts";
import { DataOptionError } from "./errors.ts";

export { mix32 };

/** Derives an independent 32-bit seed from a seed and a stream number (e.g. an epoch). */
export function deriveSeed(seed: number, stream: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return mix32(mix32(lo ^ mix32(hi + 0x9e3779b9)) ^ mix32(stream + 0x7f4a7c15));
}

export function checkSeed(option: string, seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DataOptionError(option, "a non-negative safe integer", seed);
  return seed;
}

export class SeededRandom extends Mulberry32Stream {
  constructor(seed = 0) {
    super(deriveSeed(checkSeed("seed", seed), 0));
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  setState(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new DataOptionError("state", "a 32-bit unsigned integer", state);
    }
    this.state = state;
  }
}
