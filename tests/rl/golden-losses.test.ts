/**
 * Every built-in loss, KL estimator, aggregation mode and the entropy against golden values from
 * PyTorch's Python API (scripts/golden/rl-losses.py → fixtures/golden-losses.json), gradients
 * included. All in float64, so the tolerance is tight.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { torch } from "../../src/torch/index.ts";
import * as L from "../../src/rl/losses/index.ts";
import { assertClose, assertNoLeak, f64, takeGrad } from "./helpers.ts";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden-losses.json", import.meta.url), "utf8"));
const inp = golden.inputs;

const CTORS: Record<string, new (o: any) => L.Loss> = {
  SimpleGRPOLoss: L.SimpleGRPOLoss,
  GRPOLoss: L.GRPOLoss,
  DAPOLoss: L.DAPOLoss,
  PPOClipLoss: L.PPOClipLoss,
  GSPOLoss: L.GSPOLoss,
  CISPOLoss: L.CISPOLoss,
  SAPOLoss: L.SAPOLoss,
  ReinforceLoss: L.ReinforceLoss,
};

for (const c of golden.cases) {
  test(`golden: ${c.name}`, () => {
    const lp = f64(inp.logprobs, true);
    const logits = c.withLogits ? f64(inp.logits, true) : undefined;
    const fixed = {
      refLogprobs: f64(inp.refLogprobs),
      oldLogprobs: c.useOld ? f64(inp.oldLogprobs) : undefined,
      generatorLogprobs: c.withGenerator || c.loss !== "SimpleGRPOLoss" ? f64(inp.generatorLogprobs) : undefined,
      advantages: f64(c.tokenAdvantages ? inp.tokenAdvantages : inp.advantages),
      paddingMask: torch.tensor(inp.paddingMask, { dtype: "float32" }),
    };
    const loss = new CTORS[c.loss]!(c.options);
    const { metrics } = assertNoLeak(() => {
      const out = loss.forward({ logprobs: lp, logits, ...fixed });
      out.loss.backward();
      out.loss.dispose();
      return out;
    });
    assertClose(metrics.loss, c.value, 1e-10, "loss");
    assertClose(takeGrad(lp), c.grad, 1e-10, "logprobs.grad");
    if (logits) assertClose(takeGrad(logits), c.logitsGrad, 1e-10, "logits.grad");
    for (const [k, v] of Object.entries(c.metrics as Record<string, number>)) {
      assertClose((metrics as unknown as Record<string, number>)[k]!, v, 1e-10, `metrics.${k}`);
    }
    torch.dispose([lp, logits, fixed]);
  });
}

test("golden: KL estimators k1, k2, k3, k3-k2-grad (values and gradients)", () => {
  const ref = f64(inp.refLogprobs);
  for (const k of golden.kl) {
    const lp = f64(inp.logprobs, true);
    const v = L.klPenalty(lp, ref, k.estimator);
    const s = v.sum();
    s.backward();
    assertClose(v.toArray(), k.value, 1e-12, `${k.estimator} value`);
    assertClose(takeGrad(lp), k.grad, 1e-12, `${k.estimator} grad`);
    torch.dispose([lp, v, s]);
  }
  ref.dispose();
});

test("golden: aggregation modes with local and global counts", () => {
  const mask = f64(inp.paddingMask);
  for (const a of golden.aggregations) {
    const x = f64(inp.values, true);
    const v = L.aggregate(x, mask, {
      mode: a.mode,
      globalTokenCount: a.globalTokenCount ?? undefined,
      globalSequenceCount: a.globalSequenceCount ?? undefined,
      maxTokens: a.maxTokens ?? undefined,
    });
    v.backward();
    assertClose(v.item(), a.value, 1e-12, `${a.mode} value`);
    assertClose(takeGrad(x), a.grad, 1e-12, `${a.mode} grad`);
    torch.dispose([x, v]);
  }
  mask.dispose();
});

test("golden: entropy from logits (value, gradient, temperature)", () => {
  const logits = f64(inp.logits, true);
  const w = f64(inp.values);
  const h = L.entropyFromLogits(logits);
  const s = h.mul(w).sum();
  s.backward();
  assertClose(h.toArray(), golden.entropy.value, 1e-12, "entropy");
  assertClose(takeGrad(logits), golden.entropy.gradOfWeightedSum, 1e-12, "entropy grad");
  const ht = L.entropyFromLogits(logits, { temperature: golden.entropyTemperature.temperature });
  assertClose(ht.toArray(), golden.entropyTemperature.value, 1e-12, "entropy at T");
  torch.dispose([logits, w, h, s, ht]);
  assert.ok(true);
});
