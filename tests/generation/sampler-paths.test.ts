// sampleTokens' two paths (the native one-pass draw, and the path that also reports top
// alternatives) agree on tokens and on temperature-scaled logprobs; alternatives are per row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { sampleTokens } from "../../src/generation/index.ts";

const rows = [
  [2.0, 0.5, -1.0, 1.5, 0.0],
  [-0.5, 3.0, 0.2, 0.1, 2.5],
];

function logSoftmax(row: number[], T: number): number[] {
  const z = row.map((x) => x / T);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
}

for (const temperature of [0.5, 1, 1.7]) {
  test(`temperature ${temperature}: with and without top alternatives, same tokens; logprobs of logSoftmax(logits / T); alternatives per row`, () => {
    const logits = torch.tensor(rows, { dtype: "float32" });
    const base = { temperature, topK: 0, topP: 1, minP: 0 };
    for (const uniforms of [[0.1, 0.9], [0.5, 0.3], [0.99, 0.01]]) {
      const fast = sampleTokens(logits, { ...base, logprobs: 0 }, uniforms);
      const full = sampleTokens(logits, { ...base, logprobs: 3 }, uniforms);
      assert.equal(fast.top, undefined, "no alternatives unless asked");
      assert.deepEqual(full.tokens, fast.tokens, `uniforms ${uniforms}`);
      rows.forEach((row, r) => {
        const lp = logSoftmax(row, temperature);
        assert.ok(Math.abs(full.logprobs[r]! - lp[full.tokens[r]!]!) < 1e-5, `row ${r} logprob`);
        assert.ok(Math.abs(fast.logprobs[r]! - lp[fast.tokens[r]!]!) < 1e-5, `row ${r} logprob (fast path)`);
        const order = lp.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
        assert.deepEqual(full.top![r]!.tokenIds, order.map(([, i]) => i), `row ${r} alternatives`);
        full.top![r]!.logprobs.forEach((v, j) => assert.ok(Math.abs(v - order[j]![0]) < 1e-5, `row ${r} alternative ${j}`));
      });
    }
    logits.dispose();
  });
}

test("greedy takes each row's argmax and reports its logprob at temperature 1; top-k caps at the vocabulary", () => {
  const logits = torch.tensor(rows, { dtype: "float32" });
  const g = sampleTokens(logits, { temperature: 0, topK: 0, topP: 1, minP: 0, logprobs: 9 }, [0.5, 0.5]);
  assert.deepEqual(g.tokens, [0, 1]);
  rows.forEach((row, r) => assert.ok(Math.abs(g.logprobs[r]! - logSoftmax(row, 1)[g.tokens[r]!]!) < 1e-5));
  assert.equal(g.top![1]!.tokenIds.length, 5);
  assert.deepEqual(g.top![1]!.tokenIds, [1, 4, 2, 3, 0]);
  logits.dispose();
});
