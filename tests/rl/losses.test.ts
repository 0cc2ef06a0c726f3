/**
 * Losses against hand-derived values, on-policy invariants, micro-batching invariance, input
 * validation and memory hygiene. (PyTorch golden values live in golden-losses.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import * as L from "../../src/rl/losses/index.ts";
import { RLOptionError, ShapeMismatchError } from "../../src/rl/index.ts";
import { assertClose, assertNoLeak, f64, takeGrad } from "./helpers.ts";

const ln = Math.log;

/** One token: logπ = ln 0.5, logπ_old = ln 0.4 → r = 1.25. */
function oneToken(loss: L.Loss, adv: number, extra: Partial<L.PolicyLossInput> = {}) {
  const lp = f64([[ln(0.5)]], true);
  const rest = { oldLogprobs: f64([[ln(0.4)]]), advantages: f64([adv]), paddingMask: f64([[1]]) };
  const out = loss.forward({ logprobs: lp, ...rest, ...extra });
  out.loss.backward();
  const value = out.loss.item();
  const grad = (takeGrad(lp) as number[][])[0]![0]!;
  torch.dispose([lp, rest, out.loss]);
  return { value, grad, metrics: out.metrics };
}

test("hand: PPO/GRPO clip at r = 1.25 with eps = 0.2", () => {
  // A = +1: min(1.25, 1.2) = 1.2 → loss −1.2, clipped, no gradient.
  let r = oneToken(new L.GRPOLoss({ beta: 0 }), 1);
  assertClose(r.value, -1.2, 1e-12);
  assertClose(r.grad, 0, 1e-12);
  assert.equal(r.metrics.clipFraction, 1);
  // A = −1: −min(−1.25, −1.2) = 1.25, unclipped; d/dlogπ (r) = r = 1.25.
  r = oneToken(new L.GRPOLoss({ beta: 0 }), -1);
  assertClose(r.value, 1.25, 1e-12);
  assertClose(r.grad, 1.25, 1e-12);
  assert.equal(r.metrics.clipFraction, 0);
  // DAPO clip-higher 0.28 lets r = 1.25 through for A = +1: loss −1.25, grad −1.25.
  r = oneToken(new L.DAPOLoss(), 1);
  assertClose(r.value, -1.25, 1e-12);
  assertClose(r.grad, -1.25, 1e-12);
  assertClose(r.metrics.ratioMean, 1.25, 1e-12);
});

test("hand: dual clip bounds a negative-advantage token at c·|A|", () => {
  // r = 4 (logπ − logπ_old = ln 4), A = −1, c = 3: PPO loss 4, dual-clipped to 3 with no gradient.
  const lp = f64([[ln(0.8)]], true);
  const input = { logprobs: lp, oldLogprobs: f64([[ln(0.2)]]), advantages: f64([-1]), paddingMask: f64([[1]]) };
  const plain = new L.PPOClipLoss().forward(input);
  assertClose(plain.loss.item(), 4, 1e-12);
  const dual = new L.PPOClipLoss({ clipRatioC: 3 }).forward(input);
  assertClose(dual.loss.item(), 3, 1e-12);
  dual.loss.backward();
  assertClose(takeGrad(lp), [[0]], 1e-12);
  assert.equal(dual.metrics.clipFraction, 1);
  torch.dispose([input, plain.loss, dual.loss]);
});

test("hand: CISPO keeps the gradient of a clipped token, weight capped", () => {
  // r = 1.25 > 1.2 → weight 1.2 (detached); loss = −1.2·A·logπ, grad = −1.2·A.
  const r = oneToken(new L.CISPOLoss({ clipHigh: 0.2 }), 2);
  assertClose(r.value, -1.2 * 2 * ln(0.5), 1e-12);
  assertClose(r.grad, -2.4, 1e-12);
  assert.equal(r.metrics.clipFraction, 1);
});

test("hand: SAPO gate value 4/τ·σ(τ(r−1)) and gradient 4σ(1−σ)·r·(−A)", () => {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const tau = 2;
  const s = sig(tau * 0.25);
  const r = oneToken(new L.SAPOLoss({ tauPos: tau, tauNeg: 3 }), 1);
  assertClose(r.value, -(4 / tau) * s, 1e-12);
  assertClose(r.grad, -4 * s * (1 - s) * 1.25, 1e-12);
});

test("hand: REINFORCE weight exp(logπ − logπ_gen), clipped to 1 ± clipRatio", () => {
  const gen = { generatorLogprobs: f64([[ln(0.4)]]) };
  const r = oneToken(new L.ReinforceLoss({ clipRatio: 0.1 }), 1, gen);
  assertClose(r.value, -1.1 * ln(0.5), 1e-12);
  assertClose(r.grad, -1.1, 1e-12);
  gen.generatorLogprobs.dispose();
});

test("hand: GSPO sequence ratio is the geometric mean of token ratios", () => {
  const lp = f64([[ln(0.5), ln(0.2), 0]], true);
  const old = f64([[ln(0.25), ln(0.4), -5]]);
  const mask = f64([[1, 1, 0]]);
  const s = L.sequenceRatio(lp, old, mask);
  assertClose(s.item(), Math.sqrt(2 * 0.5), 1e-12); // sqrt(r1·r2) = 1
  const lr = L.sequenceLogRatio(lp, old, mask);
  assertClose(lr.item(), 0, 1e-12);
  torch.dispose([lp, old, mask, s, lr]);
});

test("hand: KL estimators at logπ = ln 0.5, logπ_ref = ln 0.25", () => {
  const lp = f64([[ln(0.5)]]);
  const ref = f64([[ln(0.25)]]);
  const logr = ln(0.5); // ref − lp
  const expect = { k1: -logr, k2: 0.5 * logr * logr, k3: 0.5 - logr - 1, "k3-k2-grad": 0.5 - logr - 1 } as const;
  for (const [k, v] of Object.entries(expect)) {
    const t = L.klPenalty(lp, ref, k as L.KLEstimator);
    assertClose(t.item(), v, 1e-12, k);
    t.dispose();
  }
  torch.dispose([lp, ref]);
});

const ALL: [string, () => L.Loss][] = [
  ["SimpleGRPOLoss", () => new L.SimpleGRPOLoss({ beta: 0.1 })],
  ["GRPOLoss", () => new L.GRPOLoss()],
  ["DAPOLoss", () => new L.DAPOLoss({ clipRatioC: 3 })],
  ["PPOClipLoss", () => new L.PPOClipLoss()],
  ["GSPOLoss", () => new L.GSPOLoss()],
  ["CISPOLoss", () => new L.CISPOLoss()],
  ["SAPOLoss", () => new L.SAPOLoss()],
  ["ReinforceLoss", () => new L.ReinforceLoss({ clipRatio: 0.2 })],
];

function batch(seed: number) {
  torch.manualSeed(seed);
  const B = 4;
  const T = 5;
  return torch.tidy(() => {
    const lp = torch.rand([B, T], { dtype: "float64" }).mul(-3).sub(0.05);
    const mask = f64([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]);
    return {
      lp,
      old: lp.add(torch.randn([B, T], { dtype: "float64" }).mul(0.3)),
      ref: lp.add(torch.randn([B, T], { dtype: "float64" }).mul(0.2)),
      adv: torch.randn([B, 1], { dtype: "float64" }),
      mask,
    };
  });
}

test("on-policy (oldLogprobs omitted, ref = π, generator = π): ratio 1, KL 0, clip fraction 0", () => {
  const b = batch(1);
  for (const [name, make] of ALL) {
    const lp = b.lp.clone().requiresGrad_(true);
    const { loss, metrics } = make().forward({ logprobs: lp, refLogprobs: b.lp, generatorLogprobs: b.lp, advantages: b.adv, paddingMask: b.mask });
    assert.equal(metrics.ratioMean, 1, name);
    assert.equal(metrics.ratioMin, 1, name);
    assert.equal(metrics.ratioMax, 1, name);
    assert.equal(metrics.clipFraction, 0, name);
    assert.equal(metrics.klRef, 0, name);
    assert.equal(metrics.klGenerator, 0, name);
    assert.equal(metrics.tokens, 11, name);
    torch.dispose([lp, loss]);
  }
  torch.dispose(b);
});

test("on-policy gradient of every clipped/gated loss is the plain policy gradient −A·∇logπ", () => {
  const b = batch(2);
  for (const [name, make] of ALL) {
    const loss = make() as L.PolicyLoss;
    // Reference: −A·logπ with the same aggregation.
    const lpRef = b.lp.clone().requiresGrad_(true);
    const pg = torch.tidy(() => L.aggregate(lpRef.mul(b.adv).neg(), b.mask, { mode: loss.aggregation }));
    pg.backward();
    const expected = takeGrad(lpRef);
    const lp = b.lp.clone().requiresGrad_(true);
    // ref = π so the KL term has zero gradient too.
    const out = loss.forward({ logprobs: lp, refLogprobs: b.lp, advantages: b.adv, paddingMask: b.mask });
    out.loss.backward();
    assertClose(takeGrad(lp), expected, 1e-12, name);
    torch.dispose([lpRef, pg, lp, out.loss]);
  }
  torch.dispose(b);
});

test("SimpleGRPOLoss equals GRPOLoss on-policy with the same beta", () => {
  const b = batch(3);
  const a = new L.SimpleGRPOLoss({ beta: 0.1 }).forward({ logprobs: b.lp, refLogprobs: b.ref, advantages: b.adv, paddingMask: b.mask });
  const c = new L.GRPOLoss({ beta: 0.1 }).forward({ logprobs: b.lp, refLogprobs: b.ref, advantages: b.adv, paddingMask: b.mask });
  assertClose(a.metrics.loss, c.metrics.loss, 1e-12);
  torch.dispose([a.loss, c.loss, b]);
});

const MODES: L.AggregationMode[] = ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"];

test("micro-batching: Σ micro-batch losses with global counts == full-batch loss, gradients too", () => {
  const b = batch(4);
  const cases: [string, () => L.PolicyLoss][] = [
    ...MODES.map((m): [string, () => L.PolicyLoss] => [`GRPOLoss ${m}`, () => new L.GRPOLoss({ aggregation: m, maxTokens: 8, entropyCoef: 0.01 })]),
    ["DAPOLoss", () => new L.DAPOLoss({ importanceSampling: { mode: "truncate", cap: 1.5 } })],
    ["GSPOLoss", () => new L.GSPOLoss({ clipLow: 0.1, clipHigh: 0.1 })],
    ["CISPOLoss", () => new L.CISPOLoss()],
    ["SAPOLoss", () => new L.SAPOLoss()],
  ];
  torch.manualSeed(9);
  const logits = torch.randn([4, 5, 7], { dtype: "float64" });
  const counts = L.globalCounts([b.mask.slice(0, 0, 2), b.mask.slice(0, 2, 4)]);
  assert.deepEqual(counts, { globalTokenCount: 11, globalSequenceCount: 4 });
  for (const [name, make] of cases) {
    const run = (lo: number, hi: number, global: boolean) => {
      const lp = b.lp.slice(0, lo, hi).clone().requiresGrad_(true);
      const lg = logits.slice(0, lo, hi).clone().requiresGrad_(true);
      const out = make().forward({
        logprobs: lp,
        logits: lg,
        oldLogprobs: b.old.slice(0, lo, hi),
        generatorLogprobs: b.ref.slice(0, lo, hi),
        refLogprobs: b.ref.slice(0, lo, hi),
        advantages: b.adv.slice(0, lo, hi),
        paddingMask: b.mask.slice(0, lo, hi),
        ...(global ? counts : {}),
      });
      out.loss.backward();
      const r = { value: out.loss.item(), grad: takeGrad(lp) as number[][], lgrad: lg.grad === null ? [] : (takeGrad(lg) as number[][][]) };
      torch.dispose([lp, lg, out.loss]);
      return r;
    };
    const full = run(0, 4, false);
    const m1 = run(0, 2, true);
    const m2 = run(2, 4, true);
    assertClose(m1.value + m2.value, full.value, 1e-12, `${name} loss`);
    assertClose([...m1.grad, ...m2.grad], full.grad, 1e-12, `${name} grad`);
    assertClose([...m1.lgrad, ...m2.lgrad], full.lgrad, 1e-12, `${name} logits grad`);
  }
  torch.dispose([b, logits]);
});

test("token-mean without global counts is NOT micro-batch invariant (why the counts exist)", () => {
  const b = batch(5);
  const loss = new L.DAPOLoss();
  const part = (lo: number, hi: number) => {
    const out = loss.forward({ logprobs: b.lp.slice(0, lo, hi), oldLogprobs: b.old.slice(0, lo, hi), advantages: b.adv.slice(0, lo, hi), paddingMask: b.mask.slice(0, lo, hi) });
    const v = out.loss.item();
    out.loss.dispose();
    return v;
  };
  // Local means (7 and 4 tokens) must be re-weighted by hand to recover the full loss...
  assertClose((part(0, 2) * 7) / 11 + (part(2, 4) * 4) / 11, part(0, 4), 1e-12);
  // ...so simply summing micro-batch losses is wrong without global counts.
  assert.ok(Math.abs(part(0, 2) + part(2, 4) - part(0, 4)) > 1e-6);
  torch.dispose(b);
});

test("advantages may be (B), (B, 1) or (B, T) and bool masks work", () => {
  const b = batch(6);
  const mk = (adv: ReturnType<typeof f64>, mask = b.mask) => {
    const out = new L.GRPOLoss().forward({ logprobs: b.lp, oldLogprobs: b.old, refLogprobs: b.ref, advantages: adv, paddingMask: mask });
    const v = out.loss.item();
    out.loss.dispose();
    return v;
  };
  const flat = b.adv.flatten();
  const full = b.adv.expand([4, 5]);
  const boolMask = b.mask.gt(0);
  const v = mk(b.adv);
  assertClose(mk(flat), v, 1e-12);
  assertClose(mk(full), v, 1e-12);
  assertClose(mk(b.adv, boolMask), v, 1e-12);
  torch.dispose([b, flat, full, boolMask]);
});

test("float32 inputs give float32 losses close to float64", () => {
  const b = batch(7);
  const lp32 = b.lp.float();
  const o = { oldLogprobs: b.old.float(), refLogprobs: b.ref.float(), advantages: b.adv.float(), paddingMask: b.mask.float() };
  const out = new L.GRPOLoss().forward({ logprobs: lp32, ...o });
  const ref = new L.GRPOLoss().forward({ logprobs: b.lp, oldLogprobs: b.old, refLogprobs: b.ref, advantages: b.adv, paddingMask: b.mask });
  assert.equal(out.loss.dtype, "float32");
  assertClose(out.metrics.loss, ref.metrics.loss, 1e-5);
  torch.dispose([b, lp32, o, out.loss, ref.loss]);
});

test("shape errors name both tensors and their shapes", () => {
  const lp = torch.zeros([2, 3]);
  const adv = torch.zeros([2, 1]);
  const badMask = torch.ones([2, 4]);
  const loss = new L.SimpleGRPOLoss({ beta: 0 });
  assert.throws(
    () => loss.forward({ logprobs: lp, advantages: adv, paddingMask: badMask }),
    (e: unknown) => e instanceof ShapeMismatchError && /'paddingMask' has shape \[2, 4\].*'logprobs' \[2, 3\]/.test(e.message),
  );
  const badAdv = torch.zeros([3]);
  assert.throws(() => loss.forward({ logprobs: lp, advantages: badAdv, paddingMask: torch.ones([2, 3]) }), /'advantages' has shape \[3\]/);
  const badRef = torch.zeros([2, 2]);
  assert.throws(() => new L.GRPOLoss().forward({ logprobs: lp, advantages: adv, paddingMask: lp, refLogprobs: badRef }), /'refLogprobs' has shape \[2, 2\]/);
  torch.dispose([lp, adv, badMask, badAdv, badRef]);
});

test("missing inputs and bad options throw RLOptionError naming the field", () => {
  const lp = torch.zeros([2, 3]);
  const adv = torch.zeros([2]);
  const mask = torch.ones([2, 3]);
  assert.throws(() => new L.GRPOLoss({ beta: 0.1 }).forward({ logprobs: lp, advantages: adv, paddingMask: mask }), (e: unknown) => e instanceof RLOptionError && e.option === "refLogprobs");
  assert.throws(() => new L.DAPOLoss({ entropyCoef: 0.01 }).forward({ logprobs: lp, advantages: adv, paddingMask: mask }), /'logits'/);
  assert.throws(() => new L.DAPOLoss({ importanceSampling: { mode: "mask" } }).forward({ logprobs: lp, advantages: adv, paddingMask: mask }), /'generatorLogprobs'/);
  assert.throws(() => new L.GRPOLoss({ clipLow: -1 }), /option 'clipLow' must be a number in \[0, 1\]; got -1/);
  assert.throws(() => new L.GRPOLoss({ aggregation: "mean" as L.AggregationMode }), /option 'aggregation'/);
  assert.throws(() => new L.DAPOLoss({ clipRatioC: 0.5 }), /clipRatioC/);
  assert.throws(() => new L.SAPOLoss({ tauNeg: 0 }), /tauNeg/);
  assert.throws(() => new L.GRPOLoss({ beta: 0, klEstimator: "k4" as L.KLEstimator }), /klEstimator/);
  torch.dispose([lp, adv, mask]);
});

test("no tensor leaks: forward + backward of every loss leaves only the loss, which the caller disposes", () => {
  const b = batch(8);
  torch.manualSeed(3);
  const logits = torch.randn([4, 5, 6], { dtype: "float64" });
  for (const [name, make] of ALL) {
    assertNoLeak(() => {
      const lp = b.lp.clone().requiresGrad_(true);
      const lg = logits.clone().requiresGrad_(true);
      const out = make().forward({ logprobs: lp, logits: lg, oldLogprobs: b.old, refLogprobs: b.ref, generatorLogprobs: b.ref, advantages: b.adv, paddingMask: b.mask });
      assert.equal(out.loss.shape.length, 0, name);
      out.loss.backward();
      takeGrad(lp);
      assert.equal(lg.grad, null, `${name}: entropy is a metric only while entropyCoef is 0`);
      torch.dispose([lp, lg, out.loss]);
    });
  }
  torch.dispose([b, logits]);
});

test("an all-padding micro-batch gives loss 0 and finite metrics", () => {
  const lp = torch.zeros([2, 3], { dtype: "float64", requiresGrad: true });
  const mask = torch.zeros([2, 3]);
  const adv = torch.ones([2]);
  for (const [name, make] of ALL) {
    const out = make().forward({ logprobs: lp, refLogprobs: lp.detach(), advantages: adv, paddingMask: mask });
    assert.equal(out.metrics.loss, 0, name);
    for (const [k, v] of Object.entries(out.metrics)) assert.ok(Number.isFinite(v), `${name}.${k} = ${v}`);
    out.loss.dispose();
  }
  torch.dispose([lp, mask, adv]);
});
