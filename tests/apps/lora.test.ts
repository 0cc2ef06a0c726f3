// The `lora:` config section end to end on the tiny test model: SFT and GRPO (colocated with a
// merged and an unmerged generator, and separate placement where only adapters travel through
// the store), checkpoints holding PEFT adapters, and the final PEFT + merged export.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigValidationError, loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import { torch, safetensors } from "../../src/torch/index.ts";
import { loadLoraAdapter, loadPretrained, randomModel } from "../../src/models/index.ts";
import { presetConfig } from "../../apps/shared/resolve-model.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";
import { runSft } from "../../apps/sft/sft-run.ts";

const quiet = { log: () => undefined, progress: false };
const LORA = { r: 4, alpha: 8, target_modules: ["q_proj", "v_proj", "up_proj"] };

function grpoConfig(dir: string, overrides: string[] = []) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", prompt_format: "raw" },
      training: { batch_size: 8, learning_rate: 1e-2, steps: 2, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 8, max_prompt_tokens: 24, filter_zero_variance: false },
      // A reward that varies within a group, so advantages (and the adapters' B) move from zero.
      rewards: ["math", "tests/apps/fixtures/text-hash-reward.ts#textHashReward"],
      lora: LORA,
      checkpoint: { folder: "${output_dir}/ckpt", interval: 1 },
    },
    overrides,
  });
}

test("lora config errors name the key", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lora-cfg-"));
  assert.throws(() => grpoConfig(dir, ["lora.rank=4"]), (e: Error) => e instanceof ConfigValidationError && /lora/.test(e.message) && /rank/.test(e.message));
  assert.throws(() => grpoConfig(dir, ["lora.r=0"]), (e: Error) => e instanceof ConfigValidationError && /lora\.r/.test(e.message));
  assert.throws(() => grpoConfig(dir, ["lora.generator=fused"]), (e: Error) => e instanceof ConfigValidationError && /lora\.generator/.test(e.message));
  const { config } = grpoConfig(dir);
  assert.deepEqual(config.lora, { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj", "up_proj"], useRslora: false, generator: "merged", saveMerged: true });
});

for (const generator of ["merged", "unmerged"] as const) {
  test(`GRPO colocated with LoRA (${generator} generator): adapters train, base frozen, checkpoint and export are PEFT adapters`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-lora-grpo-"));
    const before = torch.memory().numTensors;
    const lines: string[] = [];
    const { config, snake } = grpoConfig(dir, [`lora.generator=${generator}`, "services.generator.pack_weights=true"]);
    const r = await runGrpo({ config, rawConfig: snake, log: (l) => lines.push(l), progress: false });
    assert.equal(r.steps, 2);
    assert.ok(lines.some((l) => /LoRA r=4 alpha=8 on 12 layers .* trainable of/.test(l)), lines.join("\n"));
    assert.ok(existsSync(join(dir, "ckpt", "step-2", "model", "adapter_config.json")), "the checkpoint holds the adapter");
    assert.ok(!existsSync(join(dir, "ckpt", "step-2", "model", "model.safetensors")), "not the frozen base");
    assert.equal(r.adapterDir, join(dir, "adapter"));
    // The exported adapter on a fresh copy of the base equals the exported merged model, and differs from the base.
    const merged = loadPretrained(join(dir, "model"));
    const base = randomModel(presetConfig("tiny", merged.config.vocabSize), { seed: 1 });
    const ids = torch.tensor([[3, 14, 15, 9, 2, 6]], { dtype: "int64" });
    const forward = (m: typeof base) => torch.tidy(() => torch.noGrad(() => m.forward(ids)));
    const baseLogits = forward(base);
    const lora = loadLoraAdapter(base, r.adapterDir!);
    const adapted = forward(base);
    const mergedLogits = forward(merged);
    const diff = (a: typeof ids, b: typeof ids) => torch.tidy(() => a.sub(b).abs().max().item());
    assert.ok(diff(adapted, mergedLogits) < 1e-4, "adapter on the base = merged export");
    assert.ok(diff(adapted, baseLogits) > 1e-5, "training changed the adapters");
    torch.dispose([ids, baseLogits, adapted, mergedLogits]);
    lora.dispose();
    base.dispose();
    merged.dispose();
    assert.equal(torch.memory().numTensors, before, "the run freed every tensor it made");
  });
}

test("GRPO separate placement with LoRA: only adapters are published; the generator process holds the same adapters", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lora-grpo-sep-"));
  const { config, snake } = grpoConfig(dir, ["placement=separate", "training.steps=3", "checkpoint.enable=false", "lora.save_merged=false"]);
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 3);
  const g = r.generatorState!;
  assert.deepEqual(g.versions, [3]);
  // The checksum covers the adapters only (the base is each side's own frozen copy).
  assert.ok(g.trainerChecksum > 0 && Math.abs(g.checksums[0]! - g.trainerChecksum) <= 1e-9 * g.trainerChecksum, `generator ${g.checksums[0]} vs trainer ${g.trainerChecksum}`);
  assert.notEqual(g.pids[0], process.pid);
  assert.ok(existsSync(join(dir, "adapter", "adapter_model.safetensors")));
  assert.ok(!existsSync(join(dir, "model")), "save_merged: false writes no merged model");
});

test("SFT with LoRA: held-out loss falls; PEFT adapter and merged model written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lora-sft-"));
  const data = join(dir, "data");
  mkdirSync(data);
  const rows = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `say ${i % 5}`, response: `<answer>${i % 5}</answer>` }));
  writeFileSync(join(data, "train.jsonl"), rows(40).join("\n") + "\n");
  writeFileSync(join(data, "test.jsonl"), rows(10).join("\n") + "\n");
  const lines: string[] = [];
  const { config, snake } = loadSftConfig({
    data: {
      output_dir: join(dir, "run"),
      model: { preset: "tiny", seed: 0 },
      dataset: { path: data, split: "train", eval_split: "test", prompt_format: "chat" },
      training: { batch_size: 8, learning_rate: 1e-2, seq_len: 64, steps: 16 },
      lora: { r: 8, alpha: 16, target_modules: "all-linear", dropout: 0.05 },
      checkpoint: { folder: join(dir, "ckpt"), interval: 8 },
      eval: { eval_every_n_steps: 8, num_prompts: 10 },
    },
  });
  const r = await runSft({ config, rawConfig: snake, log: (l) => lines.push(l), progress: false });
  assert.equal(r.steps, 16);
  const losses = lines.filter((l) => l.includes("held-out loss")).map((l) => Number(/loss ([\d.]+)/.exec(l)![1]));
  assert.equal(losses.length, 2, lines.join("\n"));
  assert.ok(losses[1]! < losses[0]!, `held-out loss should fall: ${losses}`);
  for (const f of ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json"]) assert.ok(existsSync(join(r.adapterDir!, f)), f);
  const cfg = JSON.parse(readFileSync(join(r.adapterDir!, "adapter_config.json"), "utf8"));
  assert.equal(cfg.peft_type, "LORA");
  assert.equal(cfg.target_modules, "all-linear");
  assert.equal(cfg.lora_dropout, 0.05);
  assert.ok(existsSync(join(dir, "ckpt", "step-16", "model", "adapter_model.safetensors")));
  for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) assert.ok(existsSync(join(r.modelDir, f)), f);
});

test("lora.base_dtype bfloat16 (QLoRA-style): bf16 frozen base, float32 adapters, GRPO colocated runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lora-bf16-"));
  const { config, snake } = grpoConfig(dir, ["lora.base_dtype=bfloat16", "training.steps=1", "checkpoint.enable=false"]);
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 1);
  const adapter = safetensors.readSafetensorsHeader(join(r.adapterDir!, "adapter_model.safetensors"));
  assert.ok([...adapter.tensors.values()].every((t) => t.dtype === "float32"), "adapters stay float32");
  const merged = safetensors.readSafetensorsHeader(join(dir, "model", "model.safetensors"));
  assert.ok([...merged.tensors.values()].every((t) => t.dtype === "bfloat16"), "the base (and the merged export) is bf16");
});
