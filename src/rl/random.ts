/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so the replay buffer
 * can checkpoint it and resume sampling exactly. The stream itself is shared
 * with `src/data` through `src/util/mulberry32.ts`. Not for cryptography.
 */
import { mix32, Mulberry32Stream } from "../util/mulberry32.ts";

export class Mulberry32 extends Mulberry32Stream {
  constructor(seed = 0) {
    super(mix32((seed >>> 0) ^ 0x9e3779b9)); // nearby seeds give unrelated streams
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

  setState(state: number): void {
    this.state = state >>> 0;
  }
}
