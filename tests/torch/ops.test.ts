import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F } from "../../src/torch/index.ts";
import { assertClose, golden } from "./helpers.ts";

const m = () => torch.tensor([[1, -2, 3], [-4, 5, -6]], { dtype: "float32" });

test("views and shape ops", () => {
  const x = torch.arange(24).view(2, 3, 4);
  assert.deepEqual(x.reshape([6, 4]).shape, [6, 4]);
  assert.deepEqual(x.transpose(0, 2).shape, [4, 3, 2]);
  assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.equal(x.permute(2, 0, 1).isContiguous(), false);
  assert.equal(x.permute(2, 0, 1).contiguous().isContiguous(), true);
  assert.deepEqual(x.unsqueeze(1).shape, [2, 1, 3, 4]);
  assert.deepEqual(x.unsqueeze(1).squeeze(1).shape, [2, 3, 4]);
  assert.deepEqual(torch.ones([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(torch.tensor([[1], [2]]).expand(2, 3).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(x.narrow(2, 1, 2).select(0, 1).toArray(), [[13, 14], [17, 18], [21, 22]]);
  assert.deepEqual(torch.arange(10).slice(0, 1, 8, 3).toArray(), [1, 4, 7]);
  assert.deepEqual(torch.arange(10).slice(0, -3).toArray(), [7, 8, 9]);
  assert.deepEqual(x.flatten().shape, [24]);
  assert.deepEqual(x.flatten(1).shape, [2, 12]);
  assert.deepEqual(torch.tensor([[1, 2], [3, 4]]).t().toArray(), [[1, 3], [2, 4]]);
  assert.deepEqual(torch.tensor([1, 2]).repeat(2, 2).toArray(), [[1, 2, 1, 2], [1, 2, 1, 2]]);
  assert.deepEqual(torch.tensor([1, 2, 3]).flip(0).toArray(), [3, 2, 1]);
});

test("views share storage; clone and contiguous copies do not", () => {
  const x = torch.zeros([2, 3]);
  const v = x.narrow(1, 1, 2);
  v.fill_(5);
  assert.deepEqual(x.toArray(), [[0, 5, 5], [0, 5, 5]]);
  const c = x.clone();
  c.zero_();
  assert.equal(x.sum().item(), 20);
  x.select(0, 0).copy_(torch.tensor([1, 2, 3], { dtype: "float32" }));
  assert.deepEqual(x.toArray(), [[1, 2, 3], [0, 5, 5]]);
});

test("cat, stack, split, chunk", () => {
  const a = torch.tensor([[1, 2]]);
  const b = torch.tensor([[3, 4]]);
  assert.deepEqual(torch.cat([a, b]).toArray(), [[1, 2], [3, 4]]);
  assert.deepEqual(torch.cat([a, b], 1).toArray(), [[1, 2, 3, 4]]);
  assert.deepEqual(torch.stack([a, b], 0).shape, [2, 1, 2]);
  const parts = torch.arange(7).split(3);
  assert.deepEqual(parts.map((p) => p.toArray()), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(torch.arange(7).split([2, 5]).map((p) => p.shape[0]), [2, 5]);
  assert.deepEqual(torch.arange(6).chunk(3).map((p) => p.toArray()), [[0, 1], [2, 3], [4, 5]]);
});

test("arithmetic broadcasts and accepts scalars", () => {
  const x = m();
  assert.deepEqual(x.add(torch.tensor([10, 20, 30], { dtype: "float32" })).toArray(), [[11, 18, 33], [6, 25, 24]]);
  assert.deepEqual(x.sub(1).toArray(), [[0, -3, 2], [-5, 4, -7]]);
  assert.deepEqual(x.mul(2).toArray(), [[2, -4, 6], [-8, 10, -12]]);
  assert.deepEqual(x.div(2).toArray(), [[0.5, -1, 1.5], [-2, 2.5, -3]]);
  assert.deepEqual(x.pow(2).toArray(), [[1, 4, 9], [16, 25, 36]]);
  assert.deepEqual(x.rsub(1).toArray(), [[0, 3, -2], [5, -4, 7]]);
  assert.deepEqual(torch.tensor([1, 2, 4], { dtype: "float32" }).rdiv(8).toArray(), [8, 4, 2]);
  assert.deepEqual(torch.tensor([7, -7]).remainder(3).toArray(), [1, 2]);
  assert.deepEqual(torch.tensor([7, -7]).floorDivide(2).toArray(), [3, -4]);
  // int tensors stay int with integer scalars; a fractional scalar promotes like Python.
  assert.equal(torch.tensor([1, 2]).add(1).dtype, "int64");
  assert.equal(torch.tensor([1, 2]).mul(0.5).dtype, "float32");
  assert.deepEqual(x.minimum(0).toArray(), [[0, -2, 0], [-4, 0, -6]]);
  assert.deepEqual(x.maximum(torch.zeros([3])).toArray(), [[1, 0, 3], [0, 5, 0]]);
  assert.deepEqual(x.clamp(-1, 2).toArray(), [[1, -1, 2], [-1, 2, -1]]);
  assert.deepEqual(x.clampMin(0).toArray(), [[1, 0, 3], [0, 5, 0]]);
});

test("tensor-tensor arithmetic promotes dtypes and broadcasts like PyTorch, with and without autograd", () => {
  // Without grad these take the addon's direct CPU-kernel path; with grad, the dispatcher's.
  const i = torch.tensor([[1], [2]]); // int64 [2,1]
  const f = torch.tensor([0.5, 1.5, 2.5], { dtype: "float32" });
  const sum = i.add(f);
  assert.equal(sum.dtype, "float32");
  assert.deepEqual(sum.toArray(), [[1.5, 2.5, 3.5], [2.5, 3.5, 4.5]]);
  assert.equal(i.div(torch.tensor([2])).dtype, "float32", "true division of ints gives floats");
  assert.deepEqual(i.div(torch.tensor([2])).toArray(), [[0.5], [1]]);
  assert.equal(torch.tensor([true, false]).mul(torch.tensor([true, true])).dtype, "bool");
  assert.equal(f.bfloat16().sub(f).dtype, "float32");
  const w = torch.tensor([1, 2, 3], { dtype: "float32" }).requiresGrad_();
  w.mul(f).sub(f).add(w).div(f).sum().backward();
  assert.deepEqual(w.grad!.toFlatArray().map((v) => Number(v.toFixed(5))), [3, 1.66667, 1.4]);
  torch.noGrad(() => assert.equal(w.mul(f).requiresGrad, false));
});

test("elementwise math matches hand-computed values", () => {
  const v = [0.5, 1, 2];
  const t = torch.tensor(v, { dtype: "float64" });
  const cases: [string, (x: typeof t) => typeof t, (a: number) => number][] = [
    ["exp", (x) => x.exp(), Math.exp],
    ["log", (x) => x.log(), Math.log],
    ["sqrt", (x) => x.sqrt(), Math.sqrt],
    ["rsqrt", (x) => x.rsqrt(), (a) => 1 / Math.sqrt(a)],
    ["neg", (x) => x.neg(), (a) => -a],
    ["sigmoid", (x) => x.sigmoid(), (a) => 1 / (1 + Math.exp(-a))],
    ["tanh", (x) => x.tanh(), Math.tanh],
    ["silu", (x) => x.silu(), (a) => a / (1 + Math.exp(-a))],
    ["logSigmoid", (x) => x.logSigmoid(), (a) => -Math.log1p(Math.exp(-a))],
    ["sin", (x) => x.sin(), Math.sin],
    ["cos", (x) => x.cos(), Math.cos],
    ["reciprocal", (x) => x.reciprocal(), (a) => 1 / a],
    ["square", (x) => x.square(), (a) => a * a],
    ["log1p", (x) => x.log1p(), Math.log1p],
    ["expm1", (x) => x.expm1(), Math.expm1],
    ["gelu", (x) => x.gelu(), (a) => 0.5 * a * (1 + erf(a / Math.SQRT2))],
  ];
  for (const [name, op, ref] of cases) assertClose(op(t), v.map(ref), { atol: 1e-7, rtol: 1e-7 });
  assert.deepEqual(torch.tensor([-1.5, 0, 2.5]).abs().toArray(), [1.5, 0, 2.5]);
  assert.deepEqual(torch.tensor([-1.5, 0.2, 2.5]).floor().toArray(), [-2, 0, 2]);
  assert.deepEqual(torch.tensor([-1.5, 0.2, 2.5]).ceil().toArray(), [-1, 1, 3]);
  assert.deepEqual(torch.tensor([-3, 0, 2.5]).sign().toArray(), [-1, 0, 1]);
  assert.deepEqual(torch.tensor([-3, 0, 2.5]).relu().toArray(), [0, 0, 2.5]);
});

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse; integrate numerically instead (Simpson, 2000 steps).
  const n = 2000;
  const h = x / n;
  let s = 0;
  for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}

test("comparisons, logical ops, where, maskedFill, isnan/isinf", () => {
  const x = m();
  assert.deepEqual(x.gt(0).toArray(), [[1, 0, 1], [0, 1, 0]]);
  assert.deepEqual(x.eq(3).toArray(), [[0, 0, 1], [0, 0, 0]]);
  assert.deepEqual(x.le(x.neg()).toArray(), [[0, 1, 0], [1, 0, 1]]);
  assert.equal(x.ge(0).dtype, "bool");
  assert.deepEqual(x.gt(0).logicalAnd(x.lt(3)).toArray(), [[1, 0, 0], [0, 0, 0]]);
  assert.deepEqual(x.gt(4).logicalOr(x.lt(-5)).logicalNot().toArray(), [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(torch.where(x.gt(0), x, 0).toArray(), [[1, 0, 3], [0, 5, 0]]);
  assert.deepEqual(torch.where(x.gt(0), -1, x).toArray(), [[-1, -2, -1], [-4, -1, -6]]);
  assert.deepEqual(x.maskedFill(x.lt(0), 0).toArray(), [[1, 0, 3], [0, 5, 0]]);
  const odd = torch.tensor([1, NaN, Infinity, -Infinity]);
  assert.deepEqual(odd.isnan().toArray(), [0, 1, 0, 0]);
  assert.deepEqual(odd.isinf().toArray(), [0, 0, 1, 1]);
  assert.deepEqual(odd.isfinite().toArray(), [1, 0, 0, 0]);
});

test("reductions with dims and keepdim", () => {
  const x = m();
  assert.equal(x.sum().item(), -3);
  assert.deepEqual(x.sum(0).toArray(), [-3, 3, -3]);
  assert.deepEqual(x.sum(1, { keepdim: true }).shape, [2, 1]);
  assert.deepEqual(x.sum([0, 1]).item(), -3);
  assert.deepEqual(x.mean(1).toArray(), [2 / 3, -5 / 3].map((v) => Math.fround(v)));
  assert.deepEqual(x.amax(1).toArray(), [3, 5]);
  assert.deepEqual(x.amin(0).toArray(), [-4, -2, -6]);
  assert.equal(x.max().item(), 5);
  assert.equal(x.min().item(), -6);
  const { values, indices } = x.max(1);
  assert.deepEqual([values.toArray(), indices.toArray()], [[3, 5], [2, 1]]);
  assert.deepEqual(x.min(1, { keepdim: true }).indices.toArray(), [[1], [2]]);
  assert.deepEqual(x.argmax(1).toArray(), [2, 1]);
  assert.equal(x.argmax().item(), 4);
  assert.deepEqual(x.argmin(0).toArray(), [1, 0, 1]);
  const v = torch.tensor([1, 2, 3, 4], { dtype: "float64" });
  assertClose(v.var(), [5 / 3]);
  assertClose(v.var(undefined, { unbiased: false }), [1.25]);
  assertClose(v.std(0), [Math.sqrt(5 / 3)]);
  assertClose(v.logsumexp(0), [Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(4))], { rtol: 1e-12 });
  assert.equal(v.prod().item(), 24);
  assert.equal(torch.tensor([true, false]).all().item(), 0);
  assert.equal(torch.tensor([true, false]).any().item(), 1);
  assert.equal(torch.tensor([1, 2], { dtype: "int32" }).sum(undefined, { dtype: "int64" }).dtype, "int64");
});

test("softmax, logSoftmax, cumsum", () => {
  const x = torch.tensor([[1, 2, 3]], { dtype: "float64" });
  const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
  assertClose(x.softmax(-1), [[Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z]], { rtol: 1e-12 });
  assertClose(x.logSoftmax(1), [[1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z)]], { rtol: 1e-12 });
  assert.equal(torch.tensor([[1, 2]], { dtype: "bfloat16" }).softmax(-1, { dtype: "float32" }).dtype, "float32");
  assert.deepEqual(torch.tensor([1, 2, 3, 4]).cumsum(0).toArray(), [1, 3, 6, 10]);
});

test("gather, scatter, scatterAdd, indexSelect, maskedSelect, nonzero", () => {
  const x = torch.tensor([[10, 11, 12], [20, 21, 22]]);
  const idx = torch.tensor([[2, 0], [1, 1]]);
  assert.deepEqual(x.gather(1, idx).toArray(), [[12, 10], [21, 21]]);
  assert.deepEqual(torch.zeros([2, 3], { dtype: "int64" }).scatter(1, idx, torch.tensor([[5, 6], [7, 8]])).toArray(), [[6, 0, 5], [0, 8, 0]]);
  assert.deepEqual(torch.zeros([2, 3], { dtype: "int64" }).scatter(1, idx, 9).toArray(), [[9, 0, 9], [0, 9, 0]]);
  assert.deepEqual(torch.zeros([2, 3], { dtype: "int64" }).scatterAdd(1, idx, torch.tensor([[5, 6], [7, 8]])).toArray(), [[6, 0, 5], [0, 15, 0]]);
  assert.deepEqual(x.indexSelect(0, torch.tensor([1, 1, 0])).toArray(), [[20, 21, 22], [20, 21, 22], [10, 11, 12]]);
  assert.deepEqual(x.maskedSelect(x.gt(15)).toArray(), [20, 21, 22]);
  assert.deepEqual(torch.tensor([0, 3, 0, 4]).nonzero().toArray(), [[1], [3]]);
});

test("topk, sort, multinomial", () => {
  const x = torch.tensor([[3, 1, 4, 1, 5]], { dtype: "float32" });
  const top = x.topk(2);
  assert.deepEqual([top.values.toArray(), top.indices.toArray()], [[[5, 4]], [[4, 2]]]);
  assert.deepEqual(x.topk(2, { largest: false }).values.toArray(), [[1, 1]]);
  const s = x.sort({ descending: true });
  assert.deepEqual(s.values.toArray(), [[5, 4, 3, 1, 1]]);
  assert.deepEqual(s.indices.toFlatArray().slice(0, 3), [4, 2, 0]);
  torch.manualSeed(7);
  const probs = torch.tensor([[0.1, 0.0, 0.9]]);
  const draws = probs.multinomial(2000, { replacement: true }).toFlatArray();
  assert.ok(!draws.includes(1), "zero-probability class was sampled");
  const frac2 = draws.filter((d) => d === 2).length / draws.length;
  assert.ok(Math.abs(frac2 - 0.9) < 0.03, `class 2 frequency ${frac2}`);
  assert.deepEqual(torch.tensor([[0, 1, 0]], { dtype: "float32" }).multinomial(1).toArray(), [[1]]);
});

test("matmul, bmm, linear, embedding, tril/triu, oneHot", () => {
  const a = torch.tensor([[1, 2], [3, 4]], { dtype: "float32" });
  assert.deepEqual(a.matmul(a).toArray(), [[7, 10], [15, 22]]);
  assert.deepEqual(torch.stack([a, a]).bmm(torch.stack([a, a])).shape, [2, 2, 2]);
  assert.deepEqual(F.linear(a, torch.eye(2).mul(2), torch.tensor([1, 1], { dtype: "float32" })).toArray(), [[3, 5], [7, 9]]);
  assert.deepEqual(F.linear(a, torch.eye(2)).toArray(), [[1, 2], [3, 4]]);
  const w = torch.tensor([[0, 0], [1, 1], [2, 2]], { dtype: "float32" });
  assert.deepEqual(F.embedding(torch.tensor([[2, 0]]), w).toArray(), [[[2, 2], [0, 0]]]);
  assert.deepEqual(torch.ones([3, 3]).tril().toArray(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assert.deepEqual(torch.ones([2, 3]).triu(1).toArray(), [[0, 1, 1], [0, 0, 1]]);
  assert.deepEqual(F.oneHot(torch.tensor([2, 0]), 3).toArray(), [[0, 0, 1], [1, 0, 0]]);
});

test("dtype casts round as PyTorch does", () => {
  const x = torch.tensor([1.7, -1.7, 1 / 3]);
  assert.deepEqual(x.long().toArray(), [1, -1, 0]);
  assert.deepEqual(x.to("bfloat16").toArray(), [1.703125, -1.703125, 0.333984375]);
  assert.deepEqual(x.half().toArray(), [1.7001953125, -1.7001953125, 0.333251953125]);
  assert.deepEqual(x.bool().toArray(), [1, 1, 1]);
  assert.equal(x.to({ dtype: "float64", device: "cpu" }).dtype, "float64");
});

test("crossEntropy with ignoreIndex, reductions and label smoothing (golden: PyTorch)", () => {
  const g = golden().cross_entropy;
  const logits = torch.tensor(g.logits, { dtype: "float64" });
  const target = torch.tensor(g.target);
  assertClose(F.crossEntropy(logits, target), [g.mean], { rtol: 1e-10 });
  assertClose(F.crossEntropy(logits, target, { reduction: "sum" }), [g.sum], { rtol: 1e-10 });
  assertClose(F.crossEntropy(logits, target, { reduction: "none" }), g.none, { rtol: 1e-10 });
  assertClose(F.crossEntropy(logits, target, { labelSmoothing: 0.1 }), [g.smooth], { rtol: 1e-10 });
  assert.throws(() => F.crossEntropy(logits, target, { reduction: "avg" as never }), /option 'reduction'/);
});

test("RMSNorm, rotary embedding and attention match PyTorch (golden)", () => {
  const g = golden();
  const x = torch.tensor(g.rms_norm.x, { dtype: "float64" });
  assertClose(F.rmsNorm(x, torch.tensor(g.rms_norm.w, { dtype: "float64" }), g.rms_norm.eps), g.rms_norm.y, { rtol: 1e-10 });
  const bf = F.rmsNorm(x.bfloat16(), null, 1e-6);
  assert.equal(bf.dtype, "bfloat16");

  const q = torch.tensor(g.sdpa.q, { dtype: "float64" });
  const k = torch.tensor(g.sdpa.k, { dtype: "float64" });
  const v = torch.tensor(g.sdpa.v, { dtype: "float64" });
  assertClose(F.scaledDotProductAttention(q, k, v, { isCausal: true }), g.sdpa.causal, { rtol: 1e-9, atol: 1e-12 });
  assertClose(F.scaledDotProductAttention(q, k, v), g.sdpa.full, { rtol: 1e-9, atol: 1e-12 });
  // Decode form: the last two queries against the whole cache, causal aligned to the end.
  assertClose(F.scaledDotProductAttention(q.narrow(2, 3, 2), k, v, { isCausal: true }), g.sdpa.causal_tail, { rtol: 1e-9, atol: 1e-12 });
  // A boolean mask equal to the causal one gives the same result.
  const mask = torch.ones([5, 5], { dtype: "bool" }).tril();
  assertClose(F.scaledDotProductAttention(q, k, v, { attnMask: mask }), g.sdpa.causal, { rtol: 1e-9, atol: 1e-12 });
  // An additive mask too.
  const additive = torch.zeros([5, 5], { dtype: "float64" }).maskedFill(mask.logicalNot(), -Infinity);
  assertClose(F.scaledDotProductAttention(q, k, v, { attnMask: additive }), g.sdpa.causal, { rtol: 1e-9, atol: 1e-12 });
  assert.throws(() => F.scaledDotProductAttention(q, k.narrow(1, 0, 1).expand(1, 3, 5, 6).contiguous(), v), /multiple of key\/value heads/);

  const cos = torch.tensor(g.rotary.cos, { dtype: "float64" });
  const sin = torch.tensor(g.rotary.sin, { dtype: "float64" });
  assertClose(F.applyRotaryEmb(q, cos, sin), g.rotary.y, { rtol: 1e-10, atol: 1e-12 });
});

test("tokenLogprobs equals logSoftmax+gather, with temperature and chunking (golden)", () => {
  const g = golden().token_logprobs;
  const logits = torch.tensor(g.logits, { dtype: "float32" });
  const targets = torch.tensor(g.targets);
  assertClose(F.tokenLogprobs(logits, targets), g.t1, { atol: 1e-5 });
  assertClose(F.tokenLogprobs(logits, targets, { temperature: 0.7, chunkRows: 3 }), g.t07, { atol: 1e-5 });
  assert.throws(() => F.tokenLogprobs(logits, targets, { temperature: 0 }), /'temperature' must be > 0/);
  assert.throws(() => F.tokenLogprobs(logits, targets.narrow(1, 0, 2)), /targets shape must equal logits shape/);
});
