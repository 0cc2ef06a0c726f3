/**
 * The losses' option bounds (each checked on both sides of its boundary), checkLossInput's shape
 * rules, aggregate's and klPenalty's refusals, mismatchWeights' modes, and the plain-number
 * metrics every built-in loss reports (advantage mean/std per sequence or per token, ratio
 * metrics of an all-padded batch, entropy given directly, entropy of low-precision logits).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";
import * as L from "../../src/rl/losses/index.ts";
import { RLOptionError, ShapeMismatchError } from "../../src/rl/index.ts";
import { f64 } from "./helpers.ts";

const rejects = (f: () => unknown, option: string) =>
  assert.throws(f, (e: unknown) => e instanceof RLOptionError && e.option === option, `expected an RLOptionError for ${option}`);

test("option bounds: each accepted at its boundary and refused just past it", () => {
  // PolicyLoss options shared by every loss.
  assert.equal(new L.GRPOLoss({ beta: 0 }).beta, 0);
  rejects(() => new L.GRPOLoss({ beta: -1 }), "beta");
  rejects(() => new L.GRPOLoss({ beta: Number.NaN }), "beta");
  rejects(() => new L.GRPOLoss({ beta: "0.1" as unknown as number }), "beta");
  assert.equal(new L.GRPOLoss({ maxTokens: 0.5 }).maxTokens, 0.5);
  rejects(() => new L.GRPOLoss({ maxTokens: 0 }), "maxTokens");
  rejects(() => new L.GRPOLoss({ maxTokens: -2 }), "maxTokens");
  assert.equal(new L.GRPOLoss({ entropyCoef: -0.5 }).entropyCoef, -0.5);
  rejects(() => new L.GRPOLoss({ entropyCoef: Number.NaN }), "entropyCoef");
  rejects(() => new L.GRPOLoss({ entropyCoef: Infinity }), "entropyCoef");
  assert.throws(() => new L.GRPOLoss({ aggregation: "mean" as never }), (e: unknown) => e instanceof RLOptionError && e.message.includes('"token-mean", "seq-mean-token-mean"'));
  rejects(() => new L.GRPOLoss({ klEstimator: "k4" as never }), "klEstimator");
  // Clip ranges (GRPO, DAPO, GSPO, CISPO, PPO-clip share checkClip).
  for (const make of [(o: object) => new L.GRPOLoss(o), (o: object) => new L.DAPOLoss(o), (o: object) => new L.GSPOLoss(o), (o: object) => new L.CISPOLoss(o), (o: object) => new L.PPOClipLoss(o)]) {
    assert.equal((make({ clipLow: 0 }) as { clipLow: number }).clipLow, 0);
    assert.equal((make({ clipLow: 1 }) as { clipLow: number }).clipLow, 1);
    rejects(() => make({ clipLow: -0.01 }), "clipLow");
    rejects(() => make({ clipLow: 1.01 }), "clipLow");
    assert.equal((make({ clipHigh: 0 }) as { clipHigh: number }).clipHigh, 0);
    assert.equal((make({ clipHigh: 5 }) as { clipHigh: number }).clipHigh, 5);
    rejects(() => make({ clipHigh: -0.01 }), "clipHigh");
  }
  assert.equal(new L.DAPOLoss({ clipRatioC: 1.01 }).clipRatioC, 1.01);
  rejects(() => new L.DAPOLoss({ clipRatioC: 1 }), "clipRatioC");
  rejects(() => new L.GRPOLoss({ clipRatioC: 1 }), "clipRatioC");
  // PPO-clip's symmetric ε in [0, 1], the default of both sides.
  assert.deepEqual([new L.PPOClipLoss({ clipRatio: 0 }).clipLow, new L.PPOClipLoss({ clipRatio: 1 }).clipHigh], [0, 1]);
  rejects(() => new L.PPOClipLoss({ clipRatio: -0.01 }), "clipRatio");
  rejects(() => new L.PPOClipLoss({ clipRatio: 1.01 }), "clipRatio");
  // REINFORCE: clipRatio in (0, 1], or weightBounds {low >= 0 finite, high > low}, not both.
  assert.deepEqual(new L.ReinforceLoss({ clipRatio: 1 }).weightBounds, { low: 0, high: 2 });
  rejects(() => new L.ReinforceLoss({ clipRatio: 0 }), "clipRatio");
  rejects(() => new L.ReinforceLoss({ clipRatio: -0.5 }), "clipRatio");
  rejects(() => new L.ReinforceLoss({ clipRatio: 1.01 }), "clipRatio");
  assert.equal(new L.ReinforceLoss().weightBounds, undefined);
  assert.deepEqual(new L.ReinforceLoss({ weightBounds: { low: 0.1, high: 10 } }).weightBounds, { low: 0.1, high: 10 });
  assert.deepEqual(new L.ReinforceLoss({ weightBounds: {} }).weightBounds, { low: 0, high: Infinity });
  assert.deepEqual(new L.ReinforceLoss({ weightBounds: { low: 0.5 } }).weightBounds, { low: 0.5, high: Infinity });
  rejects(() => new L.ReinforceLoss({ clipRatio: 0.2, weightBounds: { low: 0.1 } }), "weightBounds");
  rejects(() => new L.ReinforceLoss({ weightBounds: { low: -0.1 } }), "weightBounds.low");
  rejects(() => new L.ReinforceLoss({ weightBounds: { low: Number.NaN } }), "weightBounds.low");
  rejects(() => new L.ReinforceLoss({ weightBounds: { low: Infinity } }), "weightBounds.low");
  rejects(() => new L.ReinforceLoss({ weightBounds: { low: 0.5, high: 0.5 } }), "weightBounds.high");
  rejects(() => new L.ReinforceLoss({ weightBounds: { low: 0.5, high: 0.4 } }), "weightBounds.high");
  rejects(() => new L.ReinforceLoss({ weightBounds: { high: Number.NaN } }), "weightBounds.high");
  rejects(() => new L.ReinforceLoss({ weightBounds: { high: "5" as unknown as number } }), "weightBounds.high");
  // SAPO's gate temperatures > 0.
  assert.deepEqual([new L.SAPOLoss({ tauPos: 1e-3 }).tauPos, new L.SAPOLoss({ tauNeg: 1e-3 }).tauNeg], [1e-3, 1e-3]);
  rejects(() => new L.SAPOLoss({ tauPos: 0 }), "tauPos");
  rejects(() => new L.SAPOLoss({ tauNeg: 0 }), "tauNeg");
  rejects(() => new L.SAPOLoss({ tauPos: -1 }), "tauPos");
});

test("mismatchWeights: cap > 0, truncate or mask, anything else refused", () => {
  const old = f64([[-1, -1, -1]]);
  const gen = f64([[-1, -2, -1.5]]); // weights e^0, e^1, e^0.5
  const t = L.mismatchWeights(old, gen, { mode: "truncate", cap: 2 });
  assert.deepEqual((t.weights.toArray() as number[][])[0]!.map((w) => +w.toFixed(6)), [1, 2, +Math.exp(0.5).toFixed(6)]);
  assert.deepEqual(t.masked.toArray(), [[0, 0, 0]]);
  const m = L.mismatchWeights(old, gen, { mode: "mask", cap: 2 });
  assert.deepEqual((m.weights.toArray() as number[][])[0]!.map((w) => +w.toFixed(6)), [1, 0, +Math.exp(0.5).toFixed(6)]);
  assert.deepEqual(m.masked.toArray(), [[0, 1, 0]]);
  rejects(() => L.mismatchWeights(old, gen, { cap: 0 }), "importanceSampling.cap");
  rejects(() => L.mismatchWeights(old, gen, { cap: -1 }), "importanceSampling.cap");
  rejects(() => L.mismatchWeights(old, gen, { mode: "clip" as never }), "importanceSampling.mode");
  torch.dispose([old, gen, t.weights, t.masked, m.weights, m.masked]);
});

test("aggregate refuses maxTokens <= 0 and unknown modes; klPenalty refuses unknown estimators", () => {
  const v = f64([[1, 2], [3, 4]]);
  const mask = f64([[1, 1], [1, 0]]);
  const norm = L.aggregate(v, mask, { mode: "seq-mean-token-sum-norm", maxTokens: 0.5 });
  assert.equal(norm.item(), 6 / (2 * 0.5));
  rejects(() => L.aggregate(v, mask, { mode: "seq-mean-token-sum-norm", maxTokens: 0 }), "maxTokens");
  rejects(() => L.aggregate(v, mask, { mode: "seq-mean-token-sum-norm", maxTokens: -1 }), "maxTokens");
  assert.throws(() => L.aggregate(v, mask, { mode: "sum" as never }), (e: unknown) => e instanceof RLOptionError && e.option === "aggregation" && e.message.includes('"token-mean"'));
  rejects(() => L.klPenalty(v, mask, "k4" as never), "klEstimator");
  torch.dispose([v, mask, norm]);
});

test("checkLossInput: missing tensors, wrong ranks and shapes, invalid global counts are refused", () => {
  const B = 2;
  const T = 3;
  const lp = f64([[-1, -1, -1], [-2, -2, -2]]);
  const mask = f64([[1, 1, 0], [1, 1, 1]]);
  const adv = f64([1, -1]);
  const base = { logprobs: lp, paddingMask: mask, advantages: adv };
  const loss = new L.ReinforceLoss();
  const shape = (f: () => unknown, field: string) => assert.throws(f, (e: unknown) => e instanceof ShapeMismatchError && e.field === field, `expected a ShapeMismatchError for ${field}`);
  const keep: Tensor[] = [];
  const t = (shape: number[]) => {
    const x = torch.zeros(shape, { dtype: "float64" });
    keep.push(x);
    return x;
  };
  rejects(() => loss.forward({ ...base, logprobs: undefined as never }), "logprobs");
  rejects(() => loss.forward({ ...base, paddingMask: undefined as never }), "paddingMask");
  rejects(() => loss.forward({ ...base, advantages: undefined as never }), "advantages");
  shape(() => loss.forward({ logprobs: t([B]), paddingMask: t([B]), advantages: t([B]) }), "logprobs");
  shape(() => loss.forward({ ...base, paddingMask: t([B]) }), "paddingMask");
  shape(() => loss.forward({ ...base, paddingMask: t([B, T, 1]) }), "paddingMask");
  shape(() => loss.forward({ ...base, refLogprobs: t([B, T + 1]) }), "refLogprobs");
  // Advantages: (B), (B, 1) or (B, T).
  for (const ok of [[B], [B, 1], [B, T]]) assert.ok(Number.isFinite(loss.forward({ ...base, advantages: t(ok) }).loss.item()), `advantages ${ok}`);
  for (const bad of [[B + 1], [B + 1, 1], [B + 1, T], [B, 2], [B, 1, 1], [1, T]]) shape(() => loss.forward({ ...base, advantages: t(bad) }), "advantages");
  // Logits: (B, T, V).
  assert.ok(Number.isFinite(loss.forward({ ...base, logits: t([B, T, 4]) }).loss.item()));
  for (const bad of [[B, T], [B + 1, T, 4], [B, T + 1, 4]]) shape(() => loss.forward({ ...base, logits: t(bad) }), "logits");
  // Global counts: finite and >= 0 (0 is allowed: a step with nothing to train).
  for (const f of ["globalTokenCount", "globalSequenceCount"] as const) {
    assert.ok(Number.isFinite(loss.forward({ ...base, [f]: 0 }).loss.item()), `${f} 0`);
    for (const bad of [-1, Number.NaN, Infinity]) rejects(() => loss.forward({ ...base, [f]: bad }), f);
  }
  torch.dispose([lp, mask, adv, keep]);
});

test("metrics: advantage mean/std per sequence for (B, 1) advantages, per trained token for (B, T)", () => {
  const lp = f64([[-1, -1, -1], [-1, 0, 0], [-1, -1, 0]]);
  const mask = f64([[1, 1, 1], [1, 0, 0], [1, 1, 0]]);
  const loss = new L.ReinforceLoss();
  const stats = (m: L.LossMetrics) => [m.advantageMean, m.advantageStd];
  const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-12, `${what}: ${a} vs ${b}`));
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const std = (x: number[]) => Math.sqrt(x.reduce((a, v) => a + (v - mean(x)) ** 2, 0) / (x.length - 1));
  // Per sequence: lengths 3, 1, 2 must not weight the mean.
  const seqAdv = [2, -1, 0.5];
  const perSeq = loss.forward({ logprobs: lp, paddingMask: mask, advantages: f64(seqAdv.map((a) => [a])) }).metrics;
  close(stats(perSeq), [mean(seqAdv), std(seqAdv)], "(B, 1)");
  // Per token: padded slots (here 9) are not counted.
  const tokAdv = [[1, 2, 4], [3, 9, 9], [-1, 0.5, 9]];
  const trained = [1, 2, 4, 3, -1, 0.5];
  const perTok = loss.forward({ logprobs: lp, paddingMask: mask, advantages: f64(tokAdv) }).metrics;
  close(stats(perTok), [mean(trained), std(trained)], "(B, T)");
  // T = 1: (B, 1) advantages are per token; a padded row is not counted.
  const one = loss.forward({ logprobs: f64([[-1], [-1], [-1]]), paddingMask: f64([[1], [0], [1]]), advantages: f64([[4], [7], [1]]) }).metrics;
  close(stats(one), [2.5, std([4, 1])], "T = 1");
  // One trained value: std 0; none: mean and std 0.
  const single = loss.forward({ logprobs: f64([[-1, -1]]), paddingMask: f64([[1, 0]]), advantages: f64([[3, 5]]) }).metrics;
  close(stats(single), [3, 0], "one value");
  const none = loss.forward({ logprobs: f64([[-1, -1]]), paddingMask: f64([[0, 0]]), advantages: f64([[3, 5]]) }).metrics;
  close(stats(none), [0, 0], "no trained token");
  // An all-padded batch reports neutral ratio metrics, not 0 or ±inf.
  assert.deepEqual([none.ratioMean, none.ratioMin, none.ratioMax, none.tokens], [1, 1, 1, 0]);
});

test("an entropy given directly (no logits) is used for the bonus and the metric", () => {
  const lp = f64([[-1, -2], [-0.5, -1]], true);
  const mask = f64([[1, 1], [1, 0]]);
  const entropy = f64([[0.5, 1.5], [2, 99]]);
  const plain = new L.ReinforceLoss().forward({ logprobs: lp, paddingMask: mask, advantages: f64([1, 1]) });
  const bonus = new L.ReinforceLoss({ entropyCoef: 0.1 }).forward({ logprobs: lp, paddingMask: mask, advantages: f64([1, 1]), entropy });
  assert.ok(Math.abs(bonus.metrics.entropy! - 4 / 3) < 1e-12, `entropy metric ${bonus.metrics.entropy}`);
  assert.ok(Math.abs(bonus.loss.item() - (plain.loss.item() - 0.1 * (4 / 3))) < 1e-12);
  assert.equal(plain.metrics.entropy, undefined);
});

test("entropyFromLogits computes in float32 at least: bfloat16 logits give their exact entropy", () => {
  const rows = [[2.5, -1.25, 0.75, 3.5, -2], [0.125, 0.25, -0.5, 1, 8]];
  const bf = torch.tensor(rows, { dtype: "float32" }).to("bfloat16"); // these values are exact in bfloat16
  const got = L.entropyFromLogits(bf).toFlatArray();
  const exact = rows.map((r) => {
    const m = Math.max(...r);
    const z = r.reduce((a, x) => a + Math.exp(x - m), 0);
    return -r.reduce((a, x) => a + (Math.exp(x - m) / z) * (x - m - Math.log(z)), 0);
  });
  got.forEach((g, i) => assert.ok(Math.abs(g - exact[i]!) < 1e-5, `row ${i}: ${g} vs ${exact[i]}`));
});

test("clippedObjective without ratioClamped (custom losses call it so): clipped only where the clip won", () => {
  const ratio = f64([[0.5, 1, 1.5]]);
  const adv = f64([[1]]);
  const out = L.clippedObjective(ratio, adv, { clipLow: 0.2, clipHigh: 0.2 });
  assert.deepEqual(out.clipped.toArray(), [[0, 0, 1]]);
  assert.deepEqual((out.perToken.toArray() as number[][])[0], [-0.5, -1, -1.2]);
  assert.equal(out.ratioClamped, undefined);
  torch.dispose([ratio, adv, out.perToken, out.clipped]);
});
