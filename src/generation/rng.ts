/**
 * Per-sequence random streams. Each sample draws from its own generator seeded by
 * (seed, sample index), so its tokens depend only on its seed and its own logits — not on batch
 * composition, admission order or the libtorch global generator.
 */

/** 32-bit avalanche mix (murmur3 finaliser). */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Combines integers into one 32-bit seed. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = mix32(h ^ (p >>> 0));
    h = mix32(h + Math.floor(p / 2 ** 32));
  }
  return h;
}

/** sfc32: a small fast generator with a 128-bit state; `next()` is uniform in [0, 1). */
export class SequenceRng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    this.#a = mix32(seed ^ 0x243f6a88);
    this.#b = mix32(seed ^ 0x85a308d3);
    this.#c = mix32(seed ^ 0x13198a2e);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.#next32();
  }
  #next32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1) with 32 bits of resolution (never 1, so u * total < total). */
  next(): number {
    return this.#next32() / 4294967296;
  }
}
