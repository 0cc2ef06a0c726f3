import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F, optim, type Tensor } from "../../src/torch/index.ts";
import { debugModel, type CausalLM } from "../../src/models/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer, TrainerOptionError, sftLossFn, type SftMicroBatch } from "../../src/trainer/index.ts";
import { TinyLM } from "../trainer/helpers.ts";

torch.setNumThreads(1);

function gradsOf(model: CausalLM, ids: Tensor, targets: Tensor, mask: Tensor): number[][] {
  model.zeroGrad();
  torch.tidy(() => {
    F.tokenLogprobs(model.forward(ids, { attentionMask: mask }), targets).mul(mask).sum().backward();
    model.finishBackward();
  });
  return model.parameters().map((p) => torch.tidy(() => p.grad!.toFlatArray() as number[]));
}

test("Trainer({ activationCheckpointing: true }) takes the same step as without, with a lower peak", (t) => {
  const run = (ckpt: boolean) => {
    const model = debugModel("qwen3", { overrides: { numLayers: 6 } });
    // SGD: the update is linear in the gradient (AdamW's first step is ~sign(g), which amplifies rounding).
    const trainer = new Trainer<SftMicroBatch>({ model, loss: sftLossFn, optimizer: new optim.SGD(model.parameters(), { lr: 1 }), activationCheckpointing: ckpt });
    torch.manualSeed(9);
    const batch = [{ inputIds: torch.randint(0, 128, [8, 64]), lossMask: torch.ones([8, 64]) }];
    const before = torch.memory();
    const r = trainer.trainStep(batch);
    const peak = torch.memory().peakBytes - before.allocatedBytes;
    torch.dispose(batch);
    const values = model.parameters().map((p) => p.toFlatArray());
    trainer.dispose();
    model.dispose();
    return { r, peak, values };
  };
  // First in this file, lower expected peak first: the allocator's peak counter only rises (see memory-probe.test.ts).
  const withCkpt = run(true);
  const plain = run(false);
  assert.ok(Math.abs(withCkpt.r.loss - plain.r.loss) < 1e-6);
  assert.ok(Math.abs(withCkpt.r.gradNorm - plain.r.gradNorm) < 1e-5 * plain.r.gradNorm);
  withCkpt.values.forEach((v, i) => assert.ok(v.every((x, j) => Math.abs(x - plain.values[i]![j]!) < 1e-6), `parameter ${i}`));
  t.diagnostic(`train-step peak: ${(withCkpt.peak / 2 ** 20).toFixed(2)} MiB with checkpointing, ${(plain.peak / 2 ** 20).toFixed(2)} MiB without`);
  if (torch.memory().installed) assert.ok(withCkpt.peak < 0.6 * plain.peak, `peak ${withCkpt.peak} with checkpointing vs ${plain.peak} without`);
  else t.diagnostic("caching allocator off: peak not compared");
  assert.throws(() => new Trainer({ model: new TinyLM(1), loss: new GRPOLoss({ beta: 0 }), activationCheckpointing: true }), TrainerOptionError);
});

test("activation checkpointing: gradients equal the plain backward's (padded batch, tied and untied heads)", () => {
  for (const family of ["qwen3", "llama"] as const) {
    const model = debugModel(family, { overrides: { numLayers: 3 } });
    torch.manualSeed(3);
    const ids = torch.randint(0, 128, [3, 12]);
    const targets = torch.randint(0, 128, [3, 12]);
    const mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]], { dtype: "int64" });
    const plain = gradsOf(model, ids, targets, mask);
    const tensorsBefore = torch.memory().numTensors;
    model.activationCheckpointing = true;
    const ckpt = gradsOf(model, ids, targets, mask);
    assert.equal(torch.memory().numTensors, tensorsBefore + 0, "finishBackward releases what the forward held");
    model.activationCheckpointing = false;
    let maxDiff = 0;
    let maxAbs = 0;
    plain.forEach((g, i) => g.forEach((x, j) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - ckpt[i]![j]!));
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }));
    assert.ok(maxAbs > 1e-3, "gradients are not trivially zero");
    assert.ok(maxDiff < 1e-5 * Math.max(1, maxAbs), `${family}: max |Δgrad| ${maxDiff}`);
    // No-grad forwards (generation, scoring) are unaffected by the switch.
    model.activationCheckpointing = true;
    const [a, b] = torch.noGrad(() => torch.tidy(() => {
      const x = model.forward(ids, { attentionMask: mask });
      model.activationCheckpointing = false;
      return [x, model.forward(ids, { attentionMask: mask })];
    }));
    assert.deepEqual(a!.toFlatArray(), b!.toFlatArray());
    torch.dispose([a, b, ids, targets, mask]);
    model.dispose();
  }
});
