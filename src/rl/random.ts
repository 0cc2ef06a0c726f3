/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so the replay buffer
 * can checkpoint it and resume sampling exactly. The step itself is shared
 * with `src/data` through `src/util/mulberry32.ts`. Not for cryptography.
 */
import { mulberry32Next } from "../util/mulberry32.ts";
export class Mulberry32 {
  #state: number;

  constructor(seed = 0) {
    // Spread the seed's bits so nearby seeds give unrelated streams (murmur3 finaliser).
    let h = (seed >>> 0) ^ 0x9e3779b9;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.#state = (h ^ (h >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const { state, value } = mulberry32Next(this.#state);
    this.#state = state;
    return value;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `k` distinct indices from [0, n) in sampling order (partial Fisher–Yates). */
  sampleIndices(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(n - i);
      const tmp = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = tmp;
    }
    return idx.slice(0, k);
  }

  getState(): number {
    return this.#state;
  }

  setState(state: number): void {
    this.#state = state >>> 0;
  }
}
