/**
 * mulberry32, a tiny PRNG whose whole state is one 32-bit integer (easy to checkpoint for exact
 * resume), and the seed mixing around it. Shared by the seeded samplers of `src/data` and
 * `src/rl`. Not for cryptography.
 */

/** murmur3's finaliser: spreads every input bit over the output (seeds → unrelated states). */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One step: the next state and a uniform number in [0, 1). */
export function mulberry32Next(state: number): { state: number; value: number } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: next, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 };
}

/**
 * A mulberry32 stream: uniform numbers from one 32-bit state that can be read and restored
 * exactly (checkpoints). Subclasses choose how a seed becomes the first state and add their
 * sampling helpers.
 */
export class Mulberry32Stream {
  protected state: number;

  protected constructor(initialState: number) {
    this.state = initialState >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const { state, value } = mulberry32Next(this.state);
    this.state = state;
    return value;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** The whole generator state. */
  getState(): number {
    return this.state;
  }
}
