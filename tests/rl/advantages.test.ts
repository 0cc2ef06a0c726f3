import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assignAdvantages,
  createEpisode,
  drGrpoAdvantages,
  filterZeroVarianceGroups,
  grpoAdvantages,
  isZeroVariance,
  reinforcePlusPlusBaselineAdvantages,
  rlooAdvantages,
  RLOptionError,
  type Group,
} from "../../src/rl/index.ts";
import { assertClose } from "./helpers.ts";

test("GRPO: (r − mean)/(std + 1e-4) with the unbiased std, as torchforge/TRL", () => {
  // rewards [1, 0, 0, 1]: mean 0.5, unbiased std = sqrt(1/3) ≈ 0.57735
  const s = Math.sqrt(1 / 3);
  assertClose(grpoAdvantages([1, 0, 0, 1]), [0.5, -0.5, -0.5, 0.5].map((x) => x / (s + 1e-4)), 1e-12);
  // population std (unbiased: false) = 0.5
  assertClose(grpoAdvantages([1, 0, 0, 1], { unbiased: false, eps: 0 }), [1, -1, -1, 1], 1e-12);
  // torch.tensor([[0.2, 0.9, 0.4]]) → (r - r.mean(1)) / (r.std(1) + 1e-4), computed by hand:
  const r = [0.2, 0.9, 0.4];
  const m = 0.5;
  const sd = Math.sqrt(((0.3 ** 2 + 0.4 ** 2 + 0.1 ** 2) / 2));
  assertClose(grpoAdvantages(r), r.map((x) => (x - m) / (sd + 1e-4)), 1e-12);
});

test("Dr.GRPO: mean-only; RLOO: leave-one-out baseline", () => {
  assertClose(drGrpoAdvantages([1, 0, 0, 1]), [0.5, -0.5, -0.5, 0.5], 1e-12);
  // r_i − mean of the others: [3 − 1, 1 − 5/3, 0 − 2, 2 − 4/3]
  assertClose(rlooAdvantages([3, 1, 0, 2]), [3 - 1, 1 - 5 / 3, 0 - 2, 2 - 4 / 3], 1e-12);
  // RLOO = n/(n−1)·(r − mean)
  assertClose(rlooAdvantages([3, 1, 0, 2]), [1.5, -0.5, -1.5, 0.5].map((x) => (x * 4) / 3), 1e-12);
});

test("REINFORCE++-baseline: group mean removed, then whitened over the whole batch", () => {
  const out = reinforcePlusPlusBaselineAdvantages([[1, 0], [5, 5, 2]]);
  const centred = [0.5, -0.5, 1, 1, -2]; // group means 0.5 and 4
  const m = centred.reduce((a, b) => a + b) / 5;
  const sd = Math.sqrt(centred.reduce((a, x) => a + (x - m) ** 2, 0) / 4);
  assertClose(out.flat(), centred.map((x) => (x - m) / (sd + 1e-4)), 1e-12);
  assert.deepEqual(out.map((g) => g.length), [2, 3]);
});

test("edge cases: n = 1, all equal, empty; never NaN", () => {
  for (const f of [grpoAdvantages, drGrpoAdvantages, rlooAdvantages]) {
    assert.deepEqual(f([0.7]), [0]);
    assert.deepEqual(f([1, 1, 1]), [0, 0, 0]);
    assert.deepEqual(f([]), []);
  }
  assert.deepEqual(grpoAdvantages([2, 2], { eps: 0 }), [0, 0]);
  assert.deepEqual(reinforcePlusPlusBaselineAdvantages([[1, 1], [3]]), [[0, 0], [0]]);
  assert.deepEqual(reinforcePlusPlusBaselineAdvantages([]), []);
  // tiny but non-zero variance with eps 0 stays finite
  assert.ok(grpoAdvantages([1e-300, 0], { eps: 0 }).every(Number.isFinite));
  assert.throws(() => grpoAdvantages([1, NaN]), (e: unknown) => e instanceof RLOptionError && /rewards\[1\]/.test(e.message));
  assert.throws(() => grpoAdvantages([1, 2], { eps: -1 }), /eps/);
});

test("zero-variance detection and the dynamic-sampling filter", () => {
  assert.equal(isZeroVariance([1, 1, 1]), true);
  assert.equal(isZeroVariance([1, 1, 1.0001]), false);
  assert.equal(isZeroVariance([1, 1, 1.0001], { tol: 1e-3 }), true);
  assert.equal(isZeroVariance([]), true);
  const g = (rs: number[]): Group => ({
    prompt: "p",
    episodes: rs.map((r, i) =>
      createEpisode({ id: `e${i}`, prompt: "p", reward: r, completion: { text: "", promptIds: [1], tokenIds: [2], stopReason: "stop", generatorVersion: 3 } }),
    ),
  });
  const groups = [g([1, 0]), g([1, 1]), g([0, 0, 0]), g([0.5, 0.1])];
  const { kept, dropped } = filterZeroVarianceGroups(groups);
  assert.deepEqual([kept.length, dropped.length], [2, 2]);
  const res = assignAdvantages(groups, { method: "rloo" });
  assert.deepEqual(res.zeroVarianceGroups, [1, 2]);
  assert.deepEqual(groups[0]!.episodes.map((e) => e.advantage), [1, -1]);
  assert.equal(groups[0]!.episodes[0]!.policyVersion, 3);
  for (const method of ["grpo", "dr-grpo", "rloo", "reinforce++-baseline"] as const) {
    const { advantages } = assignAdvantages(groups, { method });
    assert.ok(advantages.flat().every(Number.isFinite), method);
    assertClose(advantages[1]!, [0, 0], 1e-12, method);
  }
  assert.throws(() => assignAdvantages(groups, { method: "ppo" as "grpo" }), /option 'method'/);
});
