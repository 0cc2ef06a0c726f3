import { test } from "node:test";
import assert from "node:assert/strict";
import { F, torch } from "../../src/torch/index.ts";

/** The documented rule, written plainly: inverse CDF over the kept tokens, in float64. */
function reference(p: number[], u: number, o: { topK?: number; topP?: number; minP?: number }): number {
  const V = p.length;
  const topK = o.topK ?? 0, topP = o.topP ?? 1, minP = o.minP ?? 0;
  const pmax = Math.max(...p);
  const minKeep = Math.fround(minP * pmax);
  let order = p.map((_, i) => i);
  if ((topK > 0 && topK < V) || topP < 1) {
    const total = p.reduce((a, b) => a + b, 0);
    order.sort((a, b) => p[b]! - p[a]! || a - b);
    if (topK > 0) order = order.slice(0, topK);
    let before = 0;
    const n = order.findIndex((i) => {
      if (topP < 1 && before >= topP * total) return true;
      before += p[i]!;
      return false;
    });
    if (n >= 0) order = order.slice(0, n);
  }
  const keep = order.map((i) => p[i]! >= minKeep);
  const total = order.reduce((a, i, j) => a + (keep[j] ? p[i]! : 0), 0);
  let acc = 0;
  for (let j = 0; j < order.length; j++) {
    if (!keep[j]) continue;
    acc += p[order[j]!]!;
    if (acc > u * total) return order[j]!;
  }
  return order.filter((_, j) => keep[j]).at(-1)!;
}

const draw = (rows: number[][], us: number[], o: { topK?: number; topP?: number; minP?: number } = {}) =>
  torch.tidy(() => F.sampleFromProbs(torch.tensor(rows, { dtype: "float32" }), torch.tensor(us, { dtype: "float64" }), o).toFlatArray());

test("sampleFromProbs: inverse CDF in vocabulary order, then top-k, top-p and min-p by hand", () => {
  const p = [0.1, 0.2, 0.3, 0.4];
  assert.deepEqual(draw([p, p, p], [0.05, 0.25, 0.95]), [0, 1, 3]);
  // top-k 2 keeps [3, 2] (descending): u·0.7 falls in token 3's mass first.
  assert.deepEqual(draw([p, p], [0.5, 0.9], { topK: 2 }), [3, 2]);
  // top-p 0.5 keeps 0.4 (nothing before it) and 0.3 (0.4 before it), not 0.2 (0.7 before).
  assert.deepEqual(draw([p, p], [0.5, 0.9], { topP: 0.5 }), [3, 2]);
  // min-p 0.6 drops tokens below 0.24: vocabulary order over {2, 3}.
  assert.deepEqual(draw([p, p], [0.3, 0.5], { minP: 0.6 }), [2, 3]);
  // Rows need not be normalised; zero-probability tokens are never drawn.
  assert.deepEqual(draw([[0, 5, 0, 5], [0, 0, 0, 1]], [0.999999, 0]), [3, 3]);
});

test("sampleFromProbs matches the plain reference on large random rows for every truncation", () => {
  const V = 5000;
  torch.manualSeed(7);
  for (const scale of [1, 4, 12]) {
    const probs = torch.tidy(() => torch.randn([6, V]).mul(scale).softmax(-1));
    const rows = probs.toArray() as number[][];
    const us = [0.01, 0.2, 0.5, 0.73, 0.9, 0.999];
    for (const o of [{}, { topK: 1 }, { topK: 40 }, { topP: 0.9 }, { topP: 0.3, topK: 100 }, { minP: 0.05 }, { topP: 0.95, minP: 0.01 }]) {
      const got = torch.tidy(() => F.sampleFromProbs(probs, torch.tensor(us, { dtype: "float64" }), o).toFlatArray());
      const want = rows.map((r, i) => reference(r.map(Math.fround), us[i]!, o));
      assert.deepEqual(got, want, `scale ${scale}, ${JSON.stringify(o)}`);
    }
    probs.dispose();
  }
});

test("sampleFromProbs: frequencies follow the distribution; bad arguments are clear errors", () => {
  const p = [0.5, 0.25, 0.125, 0.125];
  const N = 4000;
  const us = Array.from({ length: N }, (_, i) => (i + 0.5) / N);
  const counts = [0, 0, 0, 0];
  for (const t of draw(Array.from({ length: N }, () => p), us)) counts[t]!++;
  assert.deepEqual(counts, [2000, 1000, 500, 500]);
  const probs = torch.ones([2, 3]);
  assert.throws(() => F.sampleFromProbs(probs, torch.zeros([3], { dtype: "float64" })), (e: Error) => e instanceof TypeError && /'uniforms' must be float64 of shape \[2\]/.test(e.message));
  assert.throws(() => F.sampleFromProbs(probs.to("float64"), torch.zeros([2], { dtype: "float64" })), /'probs' must be float32/);
  assert.throws(() => F.sampleFromProbs(probs, torch.zeros([2], { dtype: "float64" }), { topP: 0 }), /'topP' must be in \(0, 1\]/);
  assert.throws(() => F.sampleFromProbs(probs, torch.zeros([2], { dtype: "float64" }), { topK: -1 }), /'topK' must be >= 0/);
});

test("sampleFromLogits draws like the reference on softmax(logits / T) and reports log-softmax at the token", () => {
  const V = 3000;
  torch.manualSeed(11);
  const us = [0.02, 0.3, 0.55, 0.81, 0.97];
  for (const [scale, T] of [[1, 1], [5, 0.7], [12, 1.6]] as const) {
    const logits = torch.randn([5, V]).mul(scale);
    const rows = logits.toArray() as number[][];
    for (const o of [{}, { topK: 20 }, { topP: 0.8 }, { minP: 0.1 }]) {
      const { tokens, logprobs } = F.sampleFromLogits(logits, torch.tensor(us, { dtype: "float64" }), { ...o, temperature: T });
      const want = rows.map((r, i) => {
        const y = r.map((x) => Math.fround(x / T));
        const m = Math.max(...y);
        return reference(y.map((v) => Math.exp(v - m)), us[i]!, o);
      });
      assert.deepEqual(tokens.toFlatArray(), want, `scale ${scale}, T ${T}, ${JSON.stringify(o)}`);
      const lp = logits.div(T).logSoftmax(-1).gather(1, tokens.unsqueeze(1)).squeeze(1).toFlatArray();
      logprobs.toFlatArray().forEach((v, i) => assert.ok(Math.abs(v - lp[i]!) < 1e-5, `logprob ${v} vs ${lp[i]}`));
    }
  }
  // -inf logits are never drawn, even at u → 1.
  const masked = torch.tensor([[-Infinity, 0, -Infinity, 1, -Infinity]], { dtype: "float32" });
  assert.deepEqual(F.sampleFromLogits(masked, torch.tensor([0.999999], { dtype: "float64" })).tokens.toFlatArray(), [3]);
  const u = torch.tensor([0.5], { dtype: "float64" });
  assert.throws(() => F.sampleFromLogits(masked, u, { temperature: 0 }), /argument 'temperature' must be a finite number > 0/);
  assert.throws(() => F.sampleFromLogits(masked.to("float64"), u), /argument 'logits' must be a 2-D \(rows, vocab\) float32 tensor/);
  assert.throws(() => F.sampleFromLogits(masked, torch.tensor([0.5, 0.5], { dtype: "float64" })), /argument 'uniforms' must be float64 of shape \[1\]/);
});
