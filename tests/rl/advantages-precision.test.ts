// std stays accurate for rewards with a large common offset (sum of squared deviations, not of
// (x + m)(x − m)); an empty group is zero-variance whatever the tolerance; Mulberry32's
// sampleIndices is a partial Fisher–Yates that returns k indices and draws exactly k numbers
// (so a resumed replay buffer continues the same stream), checked against a reference written here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { grpoAdvantages, isZeroVariance, Mulberry32, std } from "../../src/rl/index.ts";

test("std of rewards with a large common offset is as accurate as without it", () => {
  const cases: [number[], number][] = [
    [[1e6, 1e6 + 1, 1e6 + 1], Math.sqrt(1 / 3)],
    [[1e8 + 0.125, 1e8 + 0.25, 1e8 + 0.75], std([0.125, 0.25, 0.75])],
  ];
  for (const [xs, want] of cases) {
    assert.ok(Math.abs(std(xs) - want) < 1e-9 * want, `std(${xs}) = ${std(xs)}, want ${want}`);
    const biased = want * Math.sqrt((xs.length - 1) / xs.length);
    assert.ok(Math.abs(std(xs, { unbiased: false }) - biased) < 1e-9 * biased, `biased std(${xs})`);
  }
  const adv = grpoAdvantages([1e6, 1e6 + 1, 1e6 + 1], { eps: 0 });
  const s = Math.sqrt(1 / 3);
  [-2 / 3 / s, 1 / 3 / s, 1 / 3 / s].forEach((a, i) => assert.ok(Math.abs(adv[i]! - a) < 1e-8, `advantage ${i}: ${adv[i]} vs ${a}`));
});

test("an empty group is zero-variance for any tolerance", () => {
  for (const tol of [0, 1, -1, Number.NaN]) assert.equal(isZeroVariance([], { tol }), true, `tol ${tol}`);
});

/** Partial Fisher–Yates with the generator's nextInt, written independently of random.ts. */
function reference(seed: number, n: number, k: number): { picked: number[]; state: number } {
  const rng = new Mulberry32(seed);
  const a = [...Array(n).keys()];
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(n - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return { picked: a.slice(0, k), state: rng.getState() };
}

test("sampleIndices: k distinct indices, exactly k draws from the stream", () => {
  for (const [seed, n, k] of [[1, 10, 3], [7, 5, 5], [42, 8, 1], [3, 6, 0]] as const) {
    const rng = new Mulberry32(seed);
    const picked = rng.sampleIndices(n, k);
    const want = reference(seed, n, k);
    assert.deepEqual(picked, want.picked, `seed ${seed}, ${k} of ${n}`);
    assert.equal(new Set(picked).size, k);
    assert.equal(rng.getState(), want.state, `seed ${seed}: the stream advanced by exactly ${k} draws`);
  }
});
