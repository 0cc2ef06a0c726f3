// assignAdvantages forwards its `eps` / `unbiased` options to the estimators that use them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assignAdvantages, createEpisode, grpoAdvantages, reinforcePlusPlusBaselineAdvantages, std, type Group } from "../../src/rl/index.ts";
import { assertClose } from "./helpers.ts";

const group = (rs: number[]): Group => ({
  prompt: "p",
  episodes: rs.map((r, i) => createEpisode({ id: `e${i}`, prompt: "p", reward: r, completion: { text: "", promptIds: [1], tokenIds: [2], stopReason: "stop", generatorVersion: 0 } })),
});

test("assignAdvantages passes eps and unbiased to GRPO (and writes them to the episodes)", () => {
  const rs = [1, 0, 0, 1];
  const cases = [
    [{}, [0.5, -0.5, -0.5, 0.5].map((x) => x / (Math.sqrt(1 / 3) + 1e-4))],
    [{ unbiased: false, eps: 0 }, [1, -1, -1, 1]],
    [{ eps: 0.5 }, [0.5, -0.5, -0.5, 0.5].map((x) => x / (Math.sqrt(1 / 3) + 0.5))],
    [{ unbiased: false }, [0.5, -0.5, -0.5, 0.5].map((x) => x / (0.5 + 1e-4))],
  ] as const;
  for (const [options, expected] of cases) {
    const g = group(rs);
    const { advantages } = assignAdvantages([g], { method: "grpo", ...options });
    assertClose(advantages[0]!, [...expected], 1e-12, JSON.stringify(options));
    assertClose(g.episodes.map((e) => e.advantage!), [...expected], 1e-12, JSON.stringify(options));
    assertClose(advantages[0]!, grpoAdvantages(rs, options), 1e-12);
  }
});

test("assignAdvantages passes eps and unbiased to REINFORCE++-baseline", () => {
  const groups = [[1, 0], [5, 5, 2]];
  for (const options of [{ eps: 0.25 }, { unbiased: false }, { unbiased: false, eps: 1 }]) {
    const { advantages } = assignAdvantages(groups.map(group), { method: "reinforce++-baseline", ...options });
    const centred = [0.5, -0.5, 1, 1, -2];
    const m = centred.reduce((a, b) => a + b) / 5;
    const sd = std(centred, { unbiased: options.unbiased ?? true });
    assertClose(advantages.flat(), centred.map((x) => (x - m) / (sd + (options.eps ?? 1e-4))), 1e-12, JSON.stringify(options));
    assertClose(advantages.flat(), reinforcePlusPlusBaselineAdvantages(groups, options).flat(), 1e-12);
  }
  assert.throws(() => assignAdvantages([group([1, 2])], { eps: Number.NaN }), /eps/);
});

test("std: biased and unbiased, fewer than two values", () => {
  assert.equal(std([1, 3]), Math.SQRT2);
  assert.equal(std([1, 3], { unbiased: false }), 1);
  assert.equal(std([4]), 0);
  assert.equal(std([4], { unbiased: false }), 0);
  assert.equal(std([]), 0);
});

test("edge values: exact zeros for equal rewards, std equal to eps, empty std, non-finite rewards in groups", () => {
  // 0.1 × 3 has a mean of 0.10000000000000002: only the zero-variance shortcut gives exact zeros.
  assert.deepEqual(grpoAdvantages([0.1, 0.1, 0.1]), [0, 0, 0]);
  assert.deepEqual(reinforcePlusPlusBaselineAdvantages([[1, 1], [3]], { eps: 0 }), [[0, 0], [0]]);
  // std (0.5, population) + eps (0.5) = 1: divides, never short-circuits to zeros.
  assertClose(grpoAdvantages([1, 0, 0, 1], { unbiased: false, eps: 0.5 }), [0.5, -0.5, -0.5, 0.5], 1e-12);
  assert.equal(std([], { unbiased: false }), 0);
  assert.throws(() => reinforcePlusPlusBaselineAdvantages([[1, 2], [1, Number.NaN]]), /groups\[1\]\[1\]/);
  // dr-grpo only centres (RLOO would scale by n/(n−1)).
  const { advantages } = assignAdvantages([group([0, 1, 2, 5])], { method: "dr-grpo" });
  assert.deepEqual(advantages[0], [-2, -1, 0, 3]);
});
