/**
 * Silent edge cases of the losses: non-finite values in padded slots, the klRef metric with β = 0,
 * far-off-policy tokens at the ±20 log-ratio clamp, and ReinforceLoss's asymmetric weight bounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";
import * as L from "../../src/rl/losses/index.ts";
import { RLOptionError } from "../../src/rl/index.ts";
import { assertClose, f64, takeGrad } from "./helpers.ts";

const ALL: [string, () => L.Loss][] = [
  ["SimpleGRPOLoss", () => new L.SimpleGRPOLoss({ beta: 0.1, entropyCoef: 0.01 })],
  ["GRPOLoss", () => new L.GRPOLoss({ klEstimator: "k3" })],
  ["DAPOLoss", () => new L.DAPOLoss({ clipRatioC: 3, beta: 0.05, klEstimator: "k2" })],
  ["PPOClipLoss", () => new L.PPOClipLoss({ importanceSampling: { mode: "mask", cap: 2 } })],
  ["GSPOLoss", () => new L.GSPOLoss({ beta: 0.02 })],
  ["CISPOLoss", () => new L.CISPOLoss({ importanceSampling: { mode: "truncate" } })],
  ["SAPOLoss", () => new L.SAPOLoss({ entropyCoef: -0.02 })],
  ["ReinforceLoss", () => new L.ReinforceLoss({ weightBounds: { low: 0.1, high: 10 } })],
];

const MASK = [
  [1, 1, 1, 0],
  [1, 1, 0, 0],
  [1, 0, 0, 0],
];
const POISON = [NaN, Infinity, -Infinity, -100];

/** Per-token values for a (3, 4) batch; padded slots hold `pad(i, t)`. */
function fill(base: number[][], pad: (i: number, t: number) => number): number[][] {
  return base.map((row, i) => row.map((v, t) => (MASK[i]![t] ? v : pad(i, t))));
}

function inputs(seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const m = (scale: number, shift: number) => MASK.map((row) => row.map(() => shift + scale * rnd()));
  return { lp: m(-2, -0.1), old: m(-2, -0.1), ref: m(-2, -0.1), gen: m(-2, -0.1), ent: m(1, 0.5), adv: m(2, -1), logits: MASK.map((r) => r.map(() => [rnd(), -rnd(), 2 * rnd()])) };
}

function run(loss: L.Loss, dtype: "float64" | "float32", pad: (i: number, t: number) => number, T = 4, refPad = pad) {
  const b = inputs(7);
  const cut = (x: number[][]) => fill(x, pad).map((r) => r.slice(0, T));
  const t = (x: unknown, requiresGrad = false) => torch.tensor(x as number[][], { dtype, requiresGrad });
  const lp = t(cut(b.lp), true);
  const logits = t(b.logits.map((r, i) => r.map((v, j) => (MASK[i]![j] ? v : v.map(() => pad(i, j))))).map((r) => r.slice(0, T)), true);
  const rest = {
    oldLogprobs: t(cut(b.old)),
    refLogprobs: t(fill(b.ref, refPad).map((r) => r.slice(0, T))),
    generatorLogprobs: t(cut(b.gen)),
    advantages: t(cut(b.adv)),
    paddingMask: t(MASK.map((r) => r.slice(0, T))),
  };
  const out = loss.forward({ logprobs: lp, logits, ...rest });
  out.loss.backward();
  const result = { loss: out.loss.item(), grad: takeGrad(lp) as number[][], logitsGrad: logits.grad ? (takeGrad(logits) as number[][][]) : undefined, metrics: out.metrics };
  torch.dispose([lp, logits, out.loss, rest as unknown as Tensor[]]);
  return result;
}

test("NaN/inf/-100 in padded slots: finite loss, metrics and grads identical to the unpadded batch, every loss", () => {
  for (const [name, make] of ALL) {
    const unpadded = run(make(), "float64", () => 0, 3); // the all-padding column cut off
    const benign = run(make(), "float64", () => -0.5);
    for (const p of POISON) {
      const poisoned = run(make(), "float64", (i, t) => (p === -100 ? -100 * (1 + i + t) : p));
      assert.ok(Number.isFinite(poisoned.loss), `${name} pad ${p}: loss ${poisoned.loss}`);
      assertClose(poisoned.loss, unpadded.loss, 1e-12, `${name} pad ${p} loss`);
      assertClose(poisoned.grad.map((r) => r.slice(0, 3)), unpadded.grad, 1e-12, `${name} pad ${p} grad`);
      assertClose(poisoned.grad, benign.grad, 1e-12, `${name} pad ${p} grad vs benign`);
      assert.ok(poisoned.grad.every((r, i) => r.every((g, t) => MASK[i]![t] || g === 0)), `${name}: padded slots get zero gradient`);
      if (poisoned.logitsGrad) assert.ok(poisoned.logitsGrad.flat(2).every(Number.isFinite), `${name} pad ${p}: logits grad finite`);
      for (const [k, v] of Object.entries(poisoned.metrics)) {
        assert.ok(Number.isFinite(v), `${name} pad ${p}: metric ${k} = ${v}`);
        assertClose(v, (unpadded.metrics as unknown as Record<string, number>)[k]!, 1e-12, `${name} pad ${p} metric ${k}`);
      }
    }
  }
});

test("float32: a padded policy logprob of −100 no longer overflows GRPO's k3 KL to NaN", () => {
  const out = run(new L.GRPOLoss({ beta: 0.04 }), "float32", () => -100, 4, () => 0); // padded logπ = −100, ref 0: exp(100) overflows float32
  assert.ok(Number.isFinite(out.loss), `loss ${out.loss}`);
  assert.ok(out.grad.flat().every(Number.isFinite));
  const ref = run(new L.GRPOLoss({ beta: 0.04 }), "float32", () => 0, 3);
  assertClose(out.loss, ref.loss, 1e-6);
});

test("klRef with β = 0 is finite with poisoned padding, and uses float64 for a far reference in float32", () => {
  const out = run(new L.DAPOLoss({ beta: 0 }), "float32", () => NaN);
  assert.ok(out.metrics.klRef !== undefined && Number.isFinite(out.metrics.klRef), `klRef ${out.metrics.klRef}`);
  // A trained token whose reference logprob is 100 nats lower: exp(100) overflows float32, not float64.
  const lp = torch.tensor([[-0.01]], { dtype: "float32", requiresGrad: true });
  const ref = torch.tensor([[-100.01]], { dtype: "float32" });
  const r = new L.GRPOLoss({ beta: 0 }).forward({ logprobs: lp, refLogprobs: ref, advantages: f64([1]), paddingMask: f64([[1]]) });
  assertClose(r.metrics.klRef!, Math.exp(-100) + 100 - 1, 1e-6);
  torch.dispose([lp, ref, r.loss]);
});

/** Two tokens: one on-policy, one 25 nats off (beyond the ±20 clamp). */
function farOff(loss: L.Loss, adv: number) {
  const lp = f64([[Math.log(0.5), Math.log(0.5)]], true);
  const old = f64([[Math.log(0.5), Math.log(0.5) - 25]]);
  const out = loss.forward({ logprobs: lp, oldLogprobs: old, generatorLogprobs: old, advantages: f64([adv]), paddingMask: f64([[1, 1]]) });
  out.loss.backward();
  const grad = (takeGrad(lp) as number[][])[0]!;
  torch.dispose([lp, old, out.loss]);
  return { grad, metrics: out.metrics };
}

test("far-off-policy tokens: ratio-differentiating losses zero them VISIBLY (ratioClampedFraction + clipFraction)", () => {
  for (const make of [() => new L.GRPOLoss({ beta: 0 }), () => new L.DAPOLoss(), () => new L.PPOClipLoss(), () => new L.SAPOLoss()]) {
    const { grad, metrics } = farOff(make(), -1);
    assert.notEqual(grad[0], 0, "the on-policy token keeps its gradient");
    assert.equal(grad[1], 0, "the far-off token is dropped");
    assert.equal(metrics.ratioClampedFraction, 0.5);
    assert.ok(metrics.clipFraction >= 0.5, `clipFraction ${metrics.clipFraction} counts the dropped token`);
    assertClose(metrics.ratioMax, Math.exp(20), 1e-12);
  }
});

test("far-off-policy tokens: detached-weight losses keep a non-zero, bounded gradient and still count them", () => {
  const reinforce = farOff(new L.ReinforceLoss({ weightBounds: { low: 0.1, high: 10 } }), 1);
  assertClose(reinforce.grad[1]!, -10 / 2, 1e-12); // −w·A / N with w capped at 10
  assert.equal(reinforce.metrics.ratioClampedFraction, 0.5);
  const cispo = farOff(new L.CISPOLoss(), 1);
  assertClose(cispo.grad[1]!, -1.28 / 2, 1e-12);
  assert.equal(cispo.metrics.ratioClampedFraction, 0.5);
});

test("on-policy and near-policy batches report ratioClampedFraction 0", () => {
  const { metrics } = farOff(new L.GRPOLoss({ beta: 0 }), 1);
  assert.equal(metrics.ratioClampedFraction, 0.5);
  const lp = f64([[-1, -2]], true);
  const r = new L.GRPOLoss({ beta: 0 }).forward({ logprobs: lp, oldLogprobs: f64([[-1.5, -2 + 19.9]]), advantages: f64([1]), paddingMask: f64([[1, 1]]) });
  assert.equal(r.metrics.ratioClampedFraction, 0);
  torch.dispose([lp, r.loss]);
});

test("ReinforceLoss weightBounds {low: 0.1, high: 10}: torchforge's asymmetric importance-weight clamp", () => {
  // Ratios 0.05, 1 and 20 → weights 0.1, 1 and 10; token-mean over 3 tokens, A = 1.
  const lp = f64([[Math.log(0.05), Math.log(0.5), Math.log(0.8)]], true);
  const gen = f64([[0, Math.log(0.5), Math.log(0.04)]]);
  const loss = new L.ReinforceLoss({ weightBounds: { low: 0.1, high: 10 } });
  assert.deepEqual(loss.weightBounds, { low: 0.1, high: 10 });
  const out = loss.forward({ logprobs: lp, generatorLogprobs: gen, advantages: f64([1]), paddingMask: f64([[1, 1, 1]]) });
  out.loss.backward();
  assertClose(takeGrad(lp), [[-0.1 / 3, -1 / 3, -10 / 3]], 1e-12);
  assertClose(out.loss.item(), -(0.1 * Math.log(0.05) + Math.log(0.5) + 10 * Math.log(0.8)) / 3, 1e-12);
  assertClose(out.metrics.clipFraction, 2 / 3, 1e-12);
  torch.dispose([lp, gen, out.loss]);
  // One-sided bounds and clipRatio's symmetric form.
  assert.deepEqual(new L.ReinforceLoss({ weightBounds: { high: 2 } }).weightBounds, { low: 0, high: 2 });
  assert.deepEqual(new L.ReinforceLoss({ clipRatio: 0.5 }).weightBounds, { low: 0.5, high: 1.5 });
  assert.equal(new L.ReinforceLoss().weightBounds, undefined);
  assert.throws(() => new L.ReinforceLoss({ weightBounds: { low: 10, high: 0.1 } }), /weightBounds\.high/);
  assert.throws(() => new L.ReinforceLoss({ weightBounds: { low: -1 } }), RLOptionError);
  assert.throws(() => new L.ReinforceLoss({ clipRatio: 0.2, weightBounds: { low: 0.1, high: 10 } }), /weightBounds/);
});

test("aggregate drops non-finite padded values by selection", () => {
  const v = f64([[1, NaN], [2, Infinity]]);
  const m = f64([[1, 0], [1, 0]]);
  for (const mode of L.AGGREGATION_MODES) {
    const out = L.aggregate(v, m, { mode });
    assert.ok(Number.isFinite(out.item()), mode);
    out.dispose();
  }
  assert.equal(L.maskedMean(v, m), 1.5);
  torch.dispose([v, m]);
});
