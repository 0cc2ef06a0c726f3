/**
 * The fused CPU inference kernels (RMSNorm, residual-add + RMSNorm, rotary, SiLU·mul, attention
 * against a cache) run for float32/bfloat16 when autograd need not record. Each is checked
 * against the same op in float64 (the composite ATen path, independent of the fused code) and
 * against the composite path in its own dtype (forced by an input that requires grad).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { F, nn, torch, type Tensor } from "../../src/torch/index.ts";

torch.manualSeed(7);
const fusedOff = process.env.TORCHFORGE_FUSED_KERNELS === "0" && "TORCHFORGE_FUSED_KERNELS=0 turns the fast paths off";

/** Largest |a - b| over all elements. */
const maxDiff = (a: Tensor, b: Tensor): number => a.double().sub(b.double()).abs().max().item();

/** Runs `fn` with copies of `inputs` that require grad, so the composite ATen ops run; returns a detached result. */
function composite(inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor): Tensor {
  const leaves = inputs.map((t) => t.detach().clone().requiresGrad_());
  return fn(...leaves).detach();
}

test("rmsNorm and addRmsNorm (fused, float32) match float64 and the composite path, any layout", () => {
  torch.noGrad(() => {
    const x = torch.randn([3, 5, 96]);
    const r = torch.randn([3, 5, 96]);
    const w = torch.rand([96]).add(0.5);
    const ref = F.rmsNorm(x.double(), w.double(), 1e-5);
    assert.ok(maxDiff(F.rmsNorm(x, w, 1e-5), ref) < 2e-6);
    assert.ok(maxDiff(F.rmsNorm(x, null, 1e-5), F.rmsNorm(x.double(), null, 1e-5)) < 2e-6);
    // Non-contiguous input (a transposed view) gives the same values.
    const xt = x.transpose(0, 1).contiguous().transpose(0, 1);
    assert.equal(xt.isContiguous(), false);
    assert.ok(maxDiff(F.rmsNorm(xt, w, 1e-5), ref) < 2e-6);
    const { sum, normed } = F.addRmsNorm(x, r, w, 1e-5);
    assert.equal(maxDiff(sum, x.add(r)), 0);
    assert.ok(maxDiff(normed, F.rmsNorm(x.add(r).double(), w.double(), 1e-5)) < 2e-6);
  });
  // The composite path (grad enabled, input requiring grad) agrees with the fused one.
  const x = torch.randn([4, 64]);
  const w = torch.rand([64]);
  const fused = torch.noGrad(() => F.rmsNorm(x, w, 1e-6));
  assert.ok(maxDiff(fused, composite([x, w], (a, b) => F.rmsNorm(a!, b!, 1e-6))) < 1e-6);
  const both = composite([x, x.flip([0]), w], (a, b, c) => F.addRmsNorm(a!, b!, c!, 1e-6).normed);
  assert.ok(maxDiff(torch.noGrad(() => F.addRmsNorm(x, x.flip([0]), w, 1e-6).normed), both) < 1e-6);
});

test("bfloat16 rmsNorm, rotary and siluMul round like the composite bfloat16 ops", () => {
  const x = torch.randn([2, 3, 4, 32]).bfloat16();
  const w = torch.rand([32]).add(0.5).bfloat16();
  const cos = torch.rand([4, 32]).bfloat16();
  const sin = torch.rand([4, 32]).bfloat16();
  const u = torch.randn([2, 3, 4, 32]).bfloat16();
  // One bfloat16 ulp relative: the float32 sum of squares may be added up in another order.
  const ulps = (a: Tensor, b: Tensor): number => a.double().sub(b.double()).abs().div(b.double().abs().add(1e-3)).max().item();
  const cases: [string, Tensor, Tensor][] = [
    ["rmsNorm", torch.noGrad(() => F.rmsNorm(x, w, 1e-6)), composite([x, w], (a, b) => F.rmsNorm(a!, b!, 1e-6))],
    ["rotary", torch.noGrad(() => F.applyRotaryEmb(x, cos, sin)), composite([x, cos, sin], (a, c, s) => F.applyRotaryEmb(a!, c!, s!))],
    ["siluMul", torch.noGrad(() => F.siluMul(x, u)), composite([x, u], (a, b) => F.siluMul(a!, b!))],
  ];
  for (const [name, fused, ref] of cases) {
    assert.equal(fused.dtype, "bfloat16", name);
    // libtorch 1.13's bfloat16 silu rounds its sigmoid before the multiply: one more ulp there.
    const tolerance = name === "siluMul" ? 2 ** -6 : 2 ** -7;
    assert.ok(ulps(fused, ref) <= tolerance, `${name}: ${ulps(fused, ref)}`);
  }
});

test("rotary embedding (fused) matches float64 for strided input and per-row tables", () => {
  torch.noGrad(() => {
    const x = torch.randn([2, 5, 3, 8]).transpose(1, 2); // (B, H, T, D) view of (B, T, H, D)
    const cos2 = torch.randn([5, 8]);
    const sin2 = torch.randn([5, 8]);
    assert.ok(maxDiff(F.applyRotaryEmb(x, cos2, sin2), F.applyRotaryEmb(x.double(), cos2.double(), sin2.double())) < 1e-6);
    const cos4 = torch.randn([2, 1, 5, 8]);
    const sin4 = torch.randn([2, 1, 5, 8]);
    assert.ok(maxDiff(F.applyRotaryEmb(x, cos4, sin4), F.applyRotaryEmb(x.double(), cos4.double(), sin4.double())) < 1e-6);
  });
});

test("siluMul (fused) matches float64 on views of one gate-up tensor", () => {
  torch.noGrad(() => {
    const gu = torch.randn([3, 4, 2 * 40]).mul(4);
    const g = gu.narrow(-1, 0, 40);
    const u = gu.narrow(-1, 40, 40);
    const ref = F.silu(g.double()).mul(u.double());
    assert.ok(maxDiff(F.siluMul(g, u), ref) < 1e-5);
    // Extremes: exp overflow must not give NaN.
    const big = torch.tensor([[-200, -90, -1, 0, 1, 90, 200]], { dtype: "float32" });
    const out = F.siluMul(big, torch.onesLike(big));
    assert.ok(maxDiff(out, F.silu(big.double())) < 1e-4, String(out.toArray()));
  });
});

test("attention against a cache (fused) matches float64: GQA, causal chunks, boolean and additive masks, strided caches", () => {
  torch.noGrad(() => {
    const [B, H, Hkv, D, S] = [3, 6, 2, 16, 11];
    const cacheK = torch.randn([B, Hkv, 20, D]);
    const cacheV = torch.randn([B, Hkv, 20, D]);
    const k = cacheK.narrow(2, 4, S); // a window of the cache: not contiguous
    const v = cacheV.narrow(2, 4, S);
    const cols = torch.arange(S).view(1, 1, 1, S);
    const starts = torch.tensor([0, 3, 9]).view(B, 1, 1, 1);
    const boolMask = cols.ge(starts); // (B, 1, 1, S)
    const additive = torch.randn([B, H, 1, S]);
    for (const Lq of [1, 3]) {
      const q = torch.randn([B, Lq, H, D]).transpose(1, 2);
      const cases: [string, Record<string, unknown>][] = [
        ["plain", {}],
        ["causal", { isCausal: true }],
        ["bool mask", { attnMask: boolMask }],
        ["additive mask", { attnMask: additive.expand(B, H, Lq, S) }],
        ["scale", { scale: 0.3 }],
      ];
      for (const [name, opts] of cases) {
        const ref = F.scaledDotProductAttention(q.double(), k.double(), v.double(), { ...opts, attnMask: (opts.attnMask as Tensor | undefined)?.to((opts.attnMask as Tensor).dtype === "bool" ? "bool" : "float64") });
        const fused = F.scaledDotProductAttention(q, k, v, opts);
        assert.deepEqual(fused.shape, [B, H, Lq, D]);
        assert.ok(maxDiff(fused, ref) < 1e-5, `Lq=${Lq} ${name}: ${maxDiff(fused, ref)}`);
        const bf = F.scaledDotProductAttention(q.bfloat16(), k.bfloat16(), v.bfloat16(), opts);
        assert.equal(bf.dtype, "bfloat16");
        assert.ok(maxDiff(bf, ref) < 5e-2, `bf16 Lq=${Lq} ${name}: ${maxDiff(bf, ref)}`);
      }
    }
    // The decode form the model uses: rep query heads folded onto the kv-head axis.
    const q1 = torch.randn([B, H, 1, D]);
    const folded = F.scaledDotProductAttention(q1.view(B, Hkv, H / Hkv, D), k, v, { attnMask: boolMask }).view(B, H, 1, D);
    assert.ok(maxDiff(folded, F.scaledDotProductAttention(q1, k, v, { attnMask: boolMask })) < 1e-6);
  });
});

test("the fused kernels leave autograd to the composite path", () => {
  const x = torch.randn([2, 8]).requiresGrad_();
  const w = torch.rand([8]).requiresGrad_();
  const { normed } = F.addRmsNorm(x, x, w, 1e-6);
  normed.sum().backward();
  assert.ok(x.grad && w.grad, "gradients reach both inputs");
  const g = torch.randn([2, 8]).requiresGrad_();
  F.siluMul(g, torch.ones([2, 8])).sum().backward();
  const sg = g.detach().sigmoid();
  assert.ok(maxDiff(g.grad!, sg.add(sg.mul(g.detach()).mul(sg.rsub(1)))) < 1e-6); // d/dx x·σ(x)
});

test("the fast paths run for float32/bfloat16 without grad, and not for float64 or when autograd records", { skip: fusedOff }, () => {
  const before = F.fusedKernelCalls();
  const delta = () => {
    const now = F.fusedKernelCalls();
    return { rmsNorm: now.rmsNorm - before.rmsNorm, rotary: now.rotary - before.rotary, siluMul: now.siluMul - before.siluMul, attention: now.attention - before.attention };
  };
  const x = torch.randn([2, 3, 4, 8]);
  const cs = torch.randn([4, 8]);
  torch.noGrad(() => {
    F.rmsNorm(x, null);
    F.addRmsNorm(x.bfloat16(), x.bfloat16(), null);
    F.applyRotaryEmb(x, cs, cs);
    F.siluMul(x, x);
    F.scaledDotProductAttention(x, x, x);
  });
  assert.deepEqual(delta(), { rmsNorm: 2, rotary: 1, siluMul: 1, attention: 1 });
  // Head dims that are not a multiple of the 16-lane vector (partial chunks) are exact too.
  for (const D of [8, 24]) {
    const q = torch.randn([2, 4, 3, D]);
    const k = torch.randn([2, 2, 7, D]);
    const fused = torch.noGrad(() => F.scaledDotProductAttention(q, k, k, { isCausal: true }));
    assert.ok(maxDiff(fused, F.scaledDotProductAttention(q.double(), k.double(), k.double(), { isCausal: true })) < 1e-5, `D=${D}`);
  }
  const before2 = F.fusedKernelCalls();
  torch.noGrad(() => F.rmsNorm(x.double(), null)); // float64: composite
  F.rmsNorm(x.clone().requiresGrad_(), null); // autograd records: composite
  F.scaledDotProductAttention(x.clone().requiresGrad_(), x, x);
  assert.deepEqual(F.fusedKernelCalls(), before2);
});

test("LinearGroup: one packed GEMM over stacked weights equals the separate layers (with and without bias)", { skip: !F.packedLinearAvailable() && "needs libtorch with MKL's packed GEMM" }, () => {
  torch.noGrad(() => {
    for (const bias of [false, true]) {
      const layers = [new nn.Linear(24, 16, { bias }), new nn.Linear(24, 8, { bias }), new nn.Linear(24, 8, { bias })];
      const group = new nn.LinearGroup(layers);
      const x = torch.randn([5, 1, 24]);
      const separate = layers.map((l) => l.forward(x));
      group.inferencePack = F.PackedLinearWeight.pack(group.stackedWeight());
      // Outside withPackedLinears the pack is ignored; inside, one GEMM gives the same outputs.
      assert.equal(group.forward(x).every((y, i) => maxDiff(y, separate[i]!) === 0), true);
      const fused = F.withPackedLinears(() => group.forward(x));
      fused.forEach((y, i) => {
        assert.deepEqual(y.shape, separate[i]!.shape);
        assert.ok(maxDiff(y, separate[i]!) < 1e-5, `bias ${bias} output ${i}`);
      });
    }
  });
  assert.throws(() => new nn.LinearGroup([new nn.Linear(4, 4), new nn.Linear(5, 4)]), /same inFeatures/);
});

test("a shared-prefix hint reads identical leading keys from another row and changes nothing else", { skip: fusedOff }, () => {
  torch.noGrad(() => {
    const [B, H, Hkv, D, S, P] = [4, 4, 2, 16, 9, 5];
    const k = torch.randn([B, Hkv, S, D]);
    const v = torch.randn([B, Hkv, S, D]);
    // Rows 1 and 3 hold row 0's first P keys/values (one prompt, several samples); row 2 is alone.
    for (const row of [1, 3]) {
      k.narrow(0, row, 1).narrow(2, 0, P).copy_(k.narrow(0, 0, 1).narrow(2, 0, P));
      v.narrow(0, row, 1).narrow(2, 0, P).copy_(v.narrow(0, 0, 1).narrow(2, 0, P));
    }
    const q = torch.randn([B, H, 1, D]);
    const mask = torch.arange(S).view(1, 1, 1, S).ge(torch.tensor([0, 0, 2, 1]).view(B, 1, 1, 1));
    const sharedPrefix = { rows: torch.tensor([0, 0, 2, 0]), keys: torch.tensor([P, P, 0, P]) };
    const plain = F.scaledDotProductAttention(q, k, v, { attnMask: mask });
    const before = F.fusedKernelCalls().attention;
    const hinted = F.scaledDotProductAttention(q, k, v, { attnMask: mask, sharedPrefix });
    assert.equal(F.fusedKernelCalls().attention, before + 1);
    assert.equal(maxDiff(hinted, plain), 0);
    // The hint names cache rows to read, so it is validated.
    assert.throws(() => F.scaledDotProductAttention(q, k, v, { sharedPrefix: { rows: torch.tensor([0, 0, 9, 0]), keys: sharedPrefix.keys } }), /sharedPrefix.rows' must name batch rows in \[0, 4\); got 9/);
    assert.throws(() => F.scaledDotProductAttention(q, k, v, { sharedPrefix: { rows: torch.tensor([0, 0]), keys: sharedPrefix.keys } }), /option 'sharedPrefix' must hold rows and keys/);
  });
});
