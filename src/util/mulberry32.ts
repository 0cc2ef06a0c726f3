/**
 * One step of mulberry32, a tiny PRNG whose whole state is one 32-bit integer (easy to
 * checkpoint for exact resume). Shared by the seeded samplers of `src/data` and `src/rl`.
 * Not for cryptography.
 */
export function mulberry32Next(state: number): { state: number; value: number } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: next, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 };
}
