// How a step's micro-batch loss metrics combine (loss and tokens summed, *Min/*Max as min/max,
// the rest token-weighted means) and the names they are logged under.
import { test } from "node:test";
import assert from "node:assert/strict";
import { combineMicroBatchMetrics, isHeadedModel, policyMicroBatches, trainStepMetrics, type ForwardModel } from "../../src/trainer/index.ts";

test("combineMicroBatchMetrics: sums, extremes, token-weighted means; non-numbers skipped", () => {
  const out = combineMicroBatchMetrics([
    { loss: 1.5, tokens: 3, ratioMinimum: 2, klMaximum: 1, clipFraction: 0.2, ratioMin: 0.9, ratio_min: 0.8, ratioMax: 1.1, kl_max: 0.5, note: "x", logits: [1] },
    { loss: -0.5, tokens: 1, clipFraction: 0.6, ratioMin: 0.7, ratio_min: 0.95, ratioMax: 1.3, kl_max: 0.25 },
    { clipFraction: 1, ratioMinimum: 4, klMaximum: 3 }, // no token count: weight 1
    { tokens: 0, clipFraction: 0 }, // zero tokens: weight 1
  ]);
  assert.deepEqual(Object.keys(out).sort(), ["clipFraction", "klMaximum", "kl_max", "loss", "ratioMax", "ratioMin", "ratioMinimum", "ratio_min", "tokens"]);
  assert.equal(out.loss, 1);
  assert.equal(out.tokens, 4);
  assert.ok(Math.abs(out.clipFraction! - (0.2 * 3 + 0.6 * 1 + 1 * 1 + 0 * 1) / 6) < 1e-12, `clipFraction ${out.clipFraction}`);
  assert.equal(out.ratioMin, 0.7);
  assert.equal(out.ratio_min, 0.8);
  assert.equal(out.ratioMax, 1.3);
  assert.equal(out.kl_max, 0.5);
  assert.equal(out.ratioMinimum, 2.5, "a name that only contains Min is a token-weighted mean");
  assert.equal(out.klMaximum, 1.5, "a name that only contains Max is a token-weighted mean");
  assert.deepEqual(combineMicroBatchMetrics([{ entropyMax: -3 }, { entropyMax: -2 }, { entropyMin: 2 }]), { entropyMax: -2, entropyMin: 2 });
});

test("trainStepMetrics: torchforge names, snake_case loss metrics, loss scale only when used, non-finite dropped", () => {
  const base = { step: 1, loss: 0.5, gradNorm: 2, lr: 1e-3, tokens: 10, microBatches: 2, skipped: false, timeS: 0.25, tokensPerS: 40 };
  const out = trainStepMetrics({ ...base, lossMetrics: { loss: 0.5, tokens: 10, clipFraction: 0.1, klRef: Number.NaN } } as never);
  assert.deepEqual(out, {
    "loss/value": 0.5,
    "trainer/grad_norm": 2,
    "trainer/lr": 1e-3,
    "trainer/tokens": 10,
    "trainer/tokens_per_s": 40,
    "trainer/skipped_steps": 0,
    "main_perf/train_step_s": 0.25,
    "loss/clip_fraction": 0.1,
  });
  const scaled = trainStepMetrics({ ...base, skipped: true, lossScale: 1024, lossMetrics: {} } as never);
  assert.equal(scaled["trainer/loss_scale"], 1024);
  assert.equal(scaled["trainer/skipped_steps"], 1);
});

test("isHeadedModel needs all three methods; policyMicroBatches pairs inputs with targets", () => {
  const f = () => undefined;
  assert.equal(isHeadedModel({ forward: f, hiddenStates: f, logits: f, logprobsFromHidden: f } as unknown as ForwardModel), true);
  for (const missing of ["hiddenStates", "logits", "logprobsFromHidden"]) {
    const m: Record<string, unknown> = { forward: f, hiddenStates: f, logits: f, logprobsFromHidden: f };
    m[missing] = 1;
    assert.equal(isHeadedModel(m as unknown as ForwardModel), false, missing);
  }
  assert.throws(() => policyMicroBatches({ inputs: [{}, {}] as never, targets: [{}] as never }), /batch has 2 inputs but 1 targets/);
  assert.deepEqual(policyMicroBatches({ inputs: ["a"] as never, targets: ["b"] as never }), [{ inputs: "a", targets: "b" }]);
});

test("combineMicroBatchMetrics: loss and tokens are sums even where a token-weighted mean would differ; a non-number token count weighs 1", () => {
  // Weighted mean of loss would be (0.5·1 + 0.25·3) / 4 = 0.3125, not the sum 0.75.
  const out = combineMicroBatchMetrics([
    { loss: 0.5, tokens: 1, clipFraction: 0 },
    { loss: 0.25, tokens: 3, clipFraction: 1 },
  ]);
  assert.deepEqual(out, { loss: 0.75, tokens: 4, clipFraction: 0.75 });
  const unweighted = combineMicroBatchMetrics([
    { tokens: "3", entropy: 1 },
    { tokens: "3", entropy: 3 },
  ]);
  assert.deepEqual(unweighted, { entropy: 2 });
});
