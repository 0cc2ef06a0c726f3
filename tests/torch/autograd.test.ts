import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F, type Tensor } from "../../src/torch/index.ts";
import { flat } from "./helpers.ts";

/**
 * Compares autograd gradients with central finite differences in float64 for a function of
 * several inputs reduced to a scalar (through a fixed random projection so every output
 * element contributes).
 */
function gradcheck(name: string, shapes: number[][], fn: (...xs: Tensor[]) => Tensor, options: { positive?: boolean; eps?: number; tol?: number } = {}): void {
  torch.manualSeed(shapes.length * 31 + name.length);
  const values = shapes.map((s) => {
    const r = torch.randn(s, { dtype: "float64" });
    return flat((options.positive ? r.abs().add(0.5) : r).toArray());
  });
  const proj = new Map<string, Tensor>();
  const scalar = (xs: Tensor[]): Tensor => {
    const out = fn(...xs);
    const key = out.shape.join(",");
    if (!proj.has(key)) proj.set(key, torch.keep(torch.randn(out.shape, { dtype: "float64" })));
    return out.mul(proj.get(key)!).sum();
  };
  const make = (vals: number[][], grad: boolean) =>
    vals.map((v, i) => torch.tensor(v, { dtype: "float64", shape: shapes[i], requiresGrad: grad }));
  torch.tidy(() => {
    const xs = make(values, true);
    scalar(xs).backward();
    const eps = options.eps ?? 1e-6;
    const tol = options.tol ?? 1e-5;
    xs.forEach((x, i) => {
      const analytic = flat(x.grad!.toArray());
      values[i]!.forEach((_, j) => {
        const plus = values.map((v) => [...v]);
        const minus = values.map((v) => [...v]);
        plus[i]![j]! += eps;
        minus[i]![j]! -= eps;
        const numeric = (scalar(make(plus, false)).item() - scalar(make(minus, false)).item()) / (2 * eps);
        const err = Math.abs(numeric - analytic[j]!);
        assert.ok(err <= tol * (1 + Math.abs(numeric)), `${name}: d/dx${i}[${j}] autograd ${analytic[j]} vs numeric ${numeric}`);
      });
    });
  });
  for (const p of proj.values()) p.dispose();
}

test("elementwise gradients match finite differences", () => {
  gradcheck("add", [[2, 3], [3]], (a, b) => a.add(b));
  gradcheck("sub", [[2, 3], [2, 3]], (a, b) => a.sub(b).sub(2));
  gradcheck("mul", [[2, 3], [2, 1]], (a, b) => a.mul(b).mul(3));
  gradcheck("div", [[2, 3], [2, 3]], (a, b) => a.div(b), { positive: true });
  gradcheck("pow", [[4]], (a) => a.pow(3));
  gradcheck("pow tensor", [[4], [4]], (a, b) => a.pow(b), { positive: true });
  gradcheck("exp", [[5]], (a) => a.exp());
  gradcheck("log", [[5]], (a) => a.log(), { positive: true });
  gradcheck("sqrt", [[5]], (a) => a.sqrt(), { positive: true });
  gradcheck("rsqrt", [[5]], (a) => a.rsqrt(), { positive: true });
  gradcheck("sigmoid", [[5]], (a) => a.sigmoid());
  gradcheck("logSigmoid", [[5]], (a) => a.logSigmoid());
  gradcheck("tanh", [[5]], (a) => a.tanh());
  gradcheck("silu", [[5]], (a) => a.silu());
  gradcheck("gelu", [[5]], (a) => a.gelu());
  gradcheck("neg/abs/square", [[5]], (a) => a.neg().abs().add(a.square()));
  gradcheck("clamp", [[6]], (a) => a.clamp(-0.5, 0.5));
  gradcheck("minimum/maximum", [[6], [6]], (a, b) => a.minimum(b).add(a.maximum(b.mul(0.5))));
  gradcheck("where", [[6], [6]], (a, b) => torch.where(a.gt(0), a.mul(b), b.exp()));
  gradcheck("maskedFill", [[6]], (a) => a.maskedFill(a.lt(0), 0).mul(a));
});

test("reduction and normalisation gradients match finite differences", () => {
  gradcheck("sum dim", [[3, 4]], (a) => a.sum(1));
  gradcheck("mean keepdim", [[3, 4]], (a) => a.mean(0, { keepdim: true }));
  gradcheck("amax", [[3, 4]], (a) => a.amax(1));
  gradcheck("std", [[3, 4]], (a) => a.std(1));
  gradcheck("var biased", [[3, 4]], (a) => a.var(0, { unbiased: false }));
  gradcheck("softmax", [[3, 4]], (a) => a.softmax(-1));
  gradcheck("logSoftmax", [[3, 4]], (a) => a.logSoftmax(-1));
  gradcheck("logsumexp", [[3, 4]], (a) => a.logsumexp(-1));
  gradcheck("cumsum", [[3, 4]], (a) => a.cumsum(1));
  gradcheck("rmsNorm", [[2, 3, 4], [4]], (x, w) => F.rmsNorm(x, w, 1e-6));
});

test("indexing and shape gradients match finite differences", () => {
  const idx = torch.keep(torch.tensor([[2, 0], [1, 1], [0, 3]]));
  gradcheck("gather", [[3, 4]], (a) => a.gather(1, idx));
  gradcheck("indexSelect", [[3, 4]], (a) => a.indexSelect(0, torch.tensor([2, 2, 0])));
  gradcheck("embedding", [[5, 3]], (w) => F.embedding(torch.tensor([[4, 1, 4]]), w));
  gradcheck("view ops", [[2, 3, 4]], (a) => a.transpose(0, 2).reshape(4, 6).narrow(1, 1, 4).permute(1, 0).contiguous());
  gradcheck("cat/stack/expand", [[2, 3], [1, 3]], (a, b) => torch.cat([a, b.expand(2, 3)], 0).add(torch.stack([a, a], 0).sum(0).repeat(2, 1)));
  gradcheck("split", [[6, 2]], (a) => { const [x, y] = a.split(3); return x!.mul(y!); });
  idx.dispose();
});

test("linear algebra and attention gradients match finite differences", () => {
  gradcheck("matmul", [[3, 4], [4, 2]], (a, b) => a.matmul(b));
  gradcheck("bmm", [[2, 3, 4], [2, 4, 2]], (a, b) => a.bmm(b));
  gradcheck("linear", [[3, 4], [5, 4], [5]], (x, w, b) => F.linear(x, w, b));
  gradcheck("sdpa causal gqa", [[1, 4, 3, 2], [1, 2, 3, 2], [1, 2, 3, 2]], (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }));
  gradcheck("sdpa decode", [[1, 2, 1, 2], [1, 2, 3, 2], [1, 2, 3, 2]], (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }));
  gradcheck("rotary", [[1, 2, 3, 4], [3, 4], [3, 4]], (x, c, s) => F.applyRotaryEmb(x, c, s));
});

test("loss gradients match finite differences", () => {
  gradcheck("crossEntropy", [[4, 5]], (l) => F.crossEntropy(l, torch.tensor([1, -100, 4, 0])));
  gradcheck("crossEntropy smooth sum", [[3, 5]], (l) => F.crossEntropy(l, torch.tensor([1, 2, 4]), { reduction: "sum", labelSmoothing: 0.2 }));
  gradcheck("tokenLogprobs", [[2, 3, 5]], (l) => F.tokenLogprobs(l, torch.tensor([[1, 2, 3], [0, 4, 4]]), { temperature: 0.8, chunkRows: 4 }));
});

test("backward semantics: accumulation, retainGraph, detach, noGrad, zeroGrad", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    assert.equal(x.requiresGrad, true);
    assert.equal(x.grad, null);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
    y.backward();
    assert.deepEqual(x.grad!.toArray(), [4, 8, 12], "gradients accumulate");
    assert.throws(() => y.backward(), /backward through the graph a second time/);
    x.grad = null;
    assert.equal(x.grad, null);
    const z = x.detach().mul(2).sum();
    assert.equal(z.requiresGrad, false);
    const w = torch.noGrad(() => x.mul(2));
    assert.equal(w.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(torch.noGrad(() => torch.enableGrad(() => x.mul(2)).requiresGrad), true);
    assert.throws(() => x.mul(2).backward(), /needs a scalar/);
    x.mul(2).backward(torch.tensor([1, 0, 1], { dtype: "float64" }));
    assert.deepEqual(x.grad!.toArray(), [2, 0, 2]);
    const h = x.mul(3);
    h.retainGrad();
    h.sum().backward();
    assert.deepEqual(h.grad!.toArray(), [1, 1, 1]);
  });
});
