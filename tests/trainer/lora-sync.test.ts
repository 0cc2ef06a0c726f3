// Adapter-only weight sync: the trainer publishes only LoRA tensors to the shared-memory store,
// and a generator holding its own frozen base that loads version N (unmerged or merged per
// version) computes what the trainer's model computes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { applyLora, loadPretrained, type CausalLM } from "../../src/models/index.ts";
import { SharedMemoryStore, VersionedStore } from "../../src/store/index.ts";
import { Trainer, sftLossFn, type SftMicroBatch } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

const BASE = "tests/fixtures/models/llama";
const LORA = { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "gate_proj"] };
const IDS = [[0, 9, 21, 44, 3, 87, 61, 5]];
const logits = (m: CausalLM): number[] => torch.tidy(() => torch.noGrad(() => m.forward(torch.tensor(IDS))).toFlatArray());
const maxAbsDiff = (a: number[], b: number[]): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

test("only adapter tensors travel; a generator applying version N matches the trainer's model (unmerged and merged)", async () => {
  const policy = loadPretrained(BASE);
  const genModel = loadPretrained(BASE);
  const store = SharedMemoryStore.create({ name: `lora-sync-${process.pid}` });
  try {
    const lora = applyLora(policy, LORA);
    torch.manualSeed(99); // the generator's own random init must be overwritten by the sync
    const genLora = applyLora(genModel, LORA);
    const trainer = new Trainer<SftMicroBatch>({ model: policy, trainable: lora, loss: sftLossFn, optimizer: { lr: 2e-2 } });
    const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
    const mb = { inputIds: torch.tensor(IDS, { dtype: "int64" }), lossMask: torch.ones([1, 8]) };
    for (let v = 1; v <= 3; v++) {
      trainer.trainStep([mb]);
      await versions.publish(v, lora.stateDict());
    }
    torch.dispose(mb);
    const published = await store.get<Map<string, import("../../src/torch/index.ts").Tensor>>(versions.keyOf(3));
    const keys = [...published.keys()];
    assert.equal(keys.length, 2 * 3 * policy.config.numLayers, "A and B of each adapted layer, nothing else");
    assert.ok(keys.every((k) => /^base_model\.model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+\.lora_[AB]\.weight$/.test(k)), keys.join(", "));
    const bytes = [...published.values()].reduce((n, t) => n + t.numel * 4, 0);
    const baseBytes = policy.parameters().reduce((n, p) => n + p.numel * 4, 0);
    assert.ok(bytes < baseBytes / 10, `adapter bytes ${bytes} vs base ${baseBytes}`);
    torch.dispose([...published.values()]);

    const target = logits(policy);
    assert.ok(maxAbsDiff(logits(genModel), target) > 1e-3, "before the sync the generator differs");
    // Unmerged: load the adapters into the generator's own adapter tensors.
    await versions.get(3, { into: genLora.stateDict() });
    assert.ok(maxAbsDiff(logits(genModel), target) < 1e-6, "unmerged generator vs trainer");
    // Merged per version: merge, then (next version) unmerge → load → merge restores the exact base first.
    genLora.merge();
    assert.ok(maxAbsDiff(logits(genModel), target) < 1e-4, "merged generator vs trainer");
    const trainerMerged = lora.withMerged(() => logits(policy));
    assert.ok(maxAbsDiff(logits(genModel), trainerMerged) < 1e-6, "the generator's merge equals the trainer's merged model");
    genLora.unmerge();
    await versions.get(2, { into: genLora.stateDict() });
    genLora.merge();
    const v2 = logits(genModel);
    genLora.unmerge();
    for (const [k, t] of genModel.stateDict()) assert.deepEqual(t.toFlatArray(), policy.stateDict().get(k)!.toFlatArray(), `generator base ${k} drifted`);
    assert.ok(maxAbsDiff(v2, target) > 1e-5, "version 2 differs from version 3");
    trainer.dispose();
    genLora.dispose();
    lora.dispose();
  } finally {
    await store.close();
    policy.dispose();
    genModel.dispose();
  }
});
