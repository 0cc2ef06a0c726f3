// Training LoRA adapters over a frozen model: only the adapters get gradients and optimizer
// state, the base stays bit-identical, the loss falls, and checkpoints hold a PEFT adapter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { applyLora, loadLoraAdapter, loadPretrained, type CausalLM } from "../../src/models/index.ts";
import { Trainer, sftLossFn, TrainerOptionError, type SftMicroBatch } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

const BASE = "tests/fixtures/models/llama";
const batch = (): SftMicroBatch => ({
  inputIds: torch.tensor([[0, 5, 17, 33, 2, 99, 64, 12], [0, 3, 3, 90, 41, 8, 77, 101]], { dtype: "int64" }),
  lossMask: torch.tensor([[0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]], { dtype: "float32" }),
});
const snapshot = (m: CausalLM) => new Map([...m.stateDict()].map(([k, t]) => [k, t.toFlatArray()]));

test("LoRA training: only adapters get gradients and optimizer state; the base is bit-identical after steps", () => {
  const model = loadPretrained(BASE);
  const dir = mkdtempSync(join(tmpdir(), "tf-lora-trainer-"));
  try {
    const base = snapshot(model);
    const lora = applyLora(model, { r: 4, alpha: 8, dropout: 0.05, targetModules: ["q_proj", "v_proj", "down_proj"] });
    const trainer = new Trainer<SftMicroBatch>({ model, trainable: lora, loss: sftLossFn, optimizer: { lr: 1e-2, weightDecay: 0.1 } });
    const adapterParams = new Set(lora.parameters());
    const optimized = trainer.optimizer.paramGroups.flatMap((g) => g.params);
    assert.equal(optimized.length, adapterParams.size);
    assert.ok(optimized.every((p) => adapterParams.has(p)), "the optimizer sees only adapter parameters");
    const b = batch();
    const first = trainer.trainStep([b]);
    let last = first.loss;
    for (let i = 0; i < 15; i++) last = trainer.trainStep([b]).loss;
    torch.dispose(b);
    assert.ok(last < first.loss * 0.9, `the adapters learn: ${first.loss} → ${last}`);
    const state = trainer.optimizer.stateDict().state;
    assert.equal(Object.keys(state).length, adapterParams.size, "optimizer state exists for the adapters only");
    for (const [k, t] of model.stateDict()) assert.deepEqual(t.toFlatArray(), base.get(k), `base weight ${k} changed`);
    assert.ok(lora.stateDict().get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!.toFlatArray().some((x) => x !== 0));

    // Checkpoint: the model directory is a PEFT adapter; resuming restores adapters and optimizer.
    const path = trainer.save(dir);
    assert.ok(existsSync(join(path, "model", "adapter_config.json")) && existsSync(join(path, "model", "adapter_model.safetensors")));
    assert.ok(!existsSync(join(path, "model", "model.safetensors")), "the frozen base is not re-saved");
    const other = loadPretrained(BASE);
    const lora2 = applyLora(other, { r: 4, alpha: 8, dropout: 0.05, targetModules: ["q_proj", "v_proj", "down_proj"] });
    const t2 = new Trainer<SftMicroBatch>({ model: other, trainable: lora2, loss: sftLossFn, optimizer: { lr: 1e-2, weightDecay: 0.1 } });
    assert.equal(t2.load(dir).step, 16);
    for (const [k, t] of lora.stateDict()) assert.deepEqual(lora2.stateDict().get(k)!.toFlatArray(), t.toFlatArray(), k);
    // The checkpoint's adapter directory also loads on its own (PEFT layout).
    const third = loadPretrained(BASE);
    const lora3 = loadLoraAdapter(third, join(path, "model"));
    const ids = torch.tensor([[0, 7, 9, 11]], { dtype: "int64" });
    const eq = torch.tidy(() => torch.noGrad(() => model.forward(ids).sub(third.forward(ids)).abs().max().item()));
    assert.equal(eq, 0);
    ids.dispose();
    for (const x of [t2, trainer]) x.dispose();
    for (const x of [lora3, lora2, lora]) x.dispose();
    other.dispose();
    third.dispose();
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a frozen model without trainable parameters is an error naming 'trainable'", () => {
  const model = loadPretrained(BASE);
  try {
    const lora = applyLora(model, { r: 2, alpha: 4, targetModules: ["q_proj"] });
    for (const p of lora.parameters()) p.requiresGrad_(false);
    assert.throws(() => new Trainer({ model, trainable: lora, loss: sftLossFn }), (e: Error) => e instanceof TrainerOptionError && /trainable/.test(e.message));
    assert.throws(() => new Trainer({ model, loss: sftLossFn }), /'model'.*trainable parameters/);
    lora.dispose();
  } finally {
    model.dispose();
  }
});
