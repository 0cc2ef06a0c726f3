// The GRPO entropy metric on a CausalLM is computed chunked and without gradient (the whole
// (B, R, V) logits used to be materialised for it): same value as from whole logits, same
// gradient as the loss without it, and a nonzero entropy bonus still gets whole logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { debugConfig, randomModel } from "../../src/models/index.ts";
import { GRPOLoss, collate, entropyFromLogits } from "../../src/rl/index.ts";
import { chunkedEntropy, policyLossFn, policyMicroBatches } from "../../src/trainer/index.ts";
import { episodes } from "./helpers.ts";

const model = randomModel(debugConfig("llama", { vocabSize: 11, hiddenSize: 16, intermediateSize: 32, numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 8 }), { seed: 3 });

test("chunkedEntropy equals entropyFromLogits of the whole logits, for any chunk size, without gradient", () => {
  torch.manualSeed(0);
  const hidden = torch.randn([3, 5, 16]).mul(2).requiresGrad_(true);
  const whole = torch.noGrad(() => entropyFromLogits(model.logits(hidden)));
  for (const chunk of [11, 22, 11 * 7, 1 << 20]) {
    const h = chunkedEntropy(model, hidden, chunk);
    assert.deepEqual(h.shape, [3, 5]);
    assert.equal(h.requiresGrad, false);
    const a = Array.from(h.dataSync() as Float32Array);
    const b = Array.from(whole.dataSync() as Float32Array);
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5, `chunk ${chunk}, position ${i}: ${x} vs ${b[i]}`));
    assert.ok(a.some((x) => x > 0.1), "a real entropy, not zeros");
    h.dispose();
  }
  torch.dispose([hidden, whole]);
});

function lossAndGrad(entropyCoef: number, entropy: boolean) {
  const batch = collate([episodes(6, 4)], { padId: 0 });
  const [micro] = policyMicroBatches(batch);
  const fn = policyLossFn(new GRPOLoss({ beta: 0, entropyCoef }), { entropy });
  for (const p of model.parameters()) p.grad?.zero_();
  const out = fn({ model, batch: micro!, globalTokenCount: 10, globalSequenceCount: 6 });
  out.loss.backward();
  const grad = Array.from(model.parameters()[0]!.grad!.dataSync() as Float32Array);
  const result = { loss: out.loss.item(), entropy: (out.metrics as { entropy?: number } | undefined)?.entropy, grad };
  out.loss.dispose();
  torch.dispose(batch);
  return result;
}

test("policyLossFn reports entropy without changing the loss or its gradient; a bonus still trains on it", () => {
  const plain = lossAndGrad(0, false);
  const metric = lossAndGrad(0, true);
  assert.equal(plain.entropy, undefined);
  assert.ok(metric.entropy !== undefined && metric.entropy > 0.5 && metric.entropy <= Math.log(11) + 1e-6, `entropy ${metric.entropy}`);
  assert.ok(Math.abs(plain.loss - metric.loss) < 1e-6);
  plain.grad.forEach((g, i) => assert.ok(Math.abs(g - metric.grad[i]!) < 1e-6));
  const bonus = lossAndGrad(0.5, true);
  assert.ok(Math.abs(bonus.entropy! - metric.entropy!) < 1e-5, "same metric from whole logits");
  assert.ok(bonus.grad.some((g, i) => Math.abs(g - plain.grad[i]!) > 1e-6), "the bonus changes the gradient");
});
