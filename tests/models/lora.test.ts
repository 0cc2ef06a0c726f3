// LoRA: the unmerged branch equals the merged weights, merge/unmerge restore the base exactly,
// target matching follows PEFT, and adapters round-trip through PEFT's file layout (golden
// logits from PEFT itself: scripts/golden/lora-peft.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, nn, safetensors } from "../../src/torch/index.ts";
import {
  CausalLM,
  LoraConfigError,
  applyLora,
  isLoraTarget,
  loadLoraAdapter,
  loadPretrained,
  readLoraAdapterConfig,
  saveLoraAdapter,
  saveMergedPretrained,
  type LoraAdapters,
} from "../../src/models/index.ts";

torch.setNumThreads(1);

const BASE = "tests/fixtures/models/llama";
const PEFT_DIR = "tests/fixtures/lora/peft-adapter";
const GOLDEN = "tests/fixtures/lora/golden.json";
const IDS = [
  [0, 5, 17, 33, 2, 99, 64, 12],
  [0, 3, 3, 90, 41, 8, 77, 101],
];
const tmp = (): string => mkdtempSync(join(tmpdir(), "tf-lora-"));

function logitsOf(model: CausalLM, ids: number[][]): number[] {
  return torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor(ids))).toFlatArray());
}
function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function randomizeAdapters(lora: LoraAdapters, seed: number, std = 0.2): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const p of lora.parameters()) nn.init.normal_(p, 0, std);
  });
}
function baseSnapshot(model: CausalLM): Map<string, number[]> {
  return new Map([...model.stateDict()].map(([k, t]) => [k, t.toFlatArray()]));
}

test("a fresh adapter (B = 0) leaves the logits unchanged and freezes the base", () => {
  const model = loadPretrained(BASE);
  try {
    const before = logitsOf(model, IDS);
    const lora = applyLora(model, { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] });
    assert.deepEqual(logitsOf(model, IDS), before);
    assert.equal(lora.layers.size, 2 * model.config.numLayers);
    assert.ok(model.parameters().every((p) => !p.requiresGrad), "base parameters must be frozen");
    assert.ok(lora.parameters().every((p) => p.requiresGrad));
    // A is Kaiming-uniform (non-zero), B zero; PEFT's key names.
    const sd = lora.stateDict();
    const a = sd.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!;
    const b = sd.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!;
    assert.deepEqual(a.shape, [4, 32]);
    assert.deepEqual(b.shape, [32, 4]);
    assert.ok(a.toFlatArray().some((x) => x !== 0));
    assert.ok(b.toFlatArray().every((x) => x === 0));
    // Per layer: q_proj A (4, 32) + B (32, 4); v_proj (2 kv heads × 8) A (4, 32) + B (16, 4).
    assert.deepEqual(lora.parameterCounts(), { trainable: 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4), total: 896 + model.numParameters() });
    lora.dispose();
  } finally {
    model.dispose();
  }
});

test("unmerged forward equals merged forward (random non-zero B); unmerge restores the base bit for bit", () => {
  const model = loadPretrained(BASE);
  const dir = tmp();
  try {
    const base = baseSnapshot(model);
    const baseLogits = logitsOf(model, IDS);
    const lora = applyLora(model, { r: 3, alpha: 6, targetModules: "all-linear" });
    assert.ok(!lora.layers.has("lm_head"), "all-linear leaves out the LM head");
    assert.equal(lora.layers.size, 7 * model.config.numLayers);
    randomizeAdapters(lora, 7);
    const unmerged = logitsOf(model, IDS);
    assert.ok(maxAbsDiff(unmerged, baseLogits) > 1e-2, "the adapters must change the logits");
    const live = torch.memory().numTensors;
    lora.merge();
    assert.ok(lora.merged);
    const merged = logitsOf(model, IDS);
    assert.ok(maxAbsDiff(unmerged, merged) < 1e-4, `merged vs unmerged: ${maxAbsDiff(unmerged, merged)}`);
    lora.unmerge();
    assert.equal(torch.memory().numTensors, live, "merge + unmerge leave no tensor behind");
    for (const [k, t] of model.stateDict()) assert.deepEqual(t.toFlatArray(), base.get(k), `${k} changed after merge/unmerge`);
    assert.deepEqual(logitsOf(model, IDS), unmerged);
    // Merged weights as a plain HF model directory load without any LoRA code.
    saveMergedPretrained(lora, join(dir, "merged"));
    for (const [k, t] of model.stateDict()) assert.deepEqual(t.toFlatArray(), base.get(k), `${k} changed by saveMergedPretrained`);
    const plain = loadPretrained(join(dir, "merged"));
    assert.ok(maxAbsDiff(logitsOf(plain, IDS), unmerged) < 1e-4);
    plain.dispose();
    lora.dispose();
    assert.deepEqual(logitsOf(model, IDS), baseLogits, "dispose() unhooks the adapters");
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("target modules follow PEFT: suffix list, full-match regex, all-linear; bad configs name the field", () => {
  assert.ok(isLoraTarget("model.layers.0.self_attn.q_proj", ["q_proj"]));
  assert.ok(!isLoraTarget("model.layers.0.self_attn.q_proj", ["proj"]), "a list entry matches whole name segments");
  assert.ok(isLoraTarget("model.layers.1.mlp.up_proj", ".*layers\\.1\\..*(up|down)_proj"));
  assert.ok(!isLoraTarget("model.layers.1.mlp.up_proj", "up_proj"), "a regex must match the whole name");
  assert.ok(isLoraTarget("model.layers.0.mlp.gate_proj", "all-linear") && !isLoraTarget("lm_head", "all-linear"));
  const model = loadPretrained(BASE);
  try {
    assert.throws(() => applyLora(model, { r: 4, alpha: 8, targetModules: ["qproj"] }), (e: Error) => e instanceof LoraConfigError && /targetModules/.test(e.message) && /q_proj/.test(e.message));
    assert.throws(() => applyLora(model, { r: 0, alpha: 8, targetModules: ["q_proj"] }), /LoRA 'r' must be an integer >= 1; got 0/);
    assert.throws(() => applyLora(model, { r: 2, alpha: -1, targetModules: ["q_proj"] }), /'alpha' must be a finite number > 0/);
    assert.throws(() => applyLora(model, { r: 2, alpha: 4, dropout: 1, targetModules: ["q_proj"] }), /'dropout' must be a number in \[0, 1\)/);
    assert.throws(() => applyLora(model, { r: 2, alpha: 4, targetModules: [] }), /'targetModules' must be a non-empty list/);
    const lora = applyLora(model, { r: 2, alpha: 4, targetModules: ["q_proj"] });
    assert.throws(() => applyLora(model, { r: 2, alpha: 4, targetModules: ["q_proj"] }), /a model without adapters/);
    lora.dispose();
  } finally {
    model.dispose();
  }
});

test("PEFT adapter (saved by peft 0.21) loads and matches PEFT's logits, unmerged and merged", (t) => {
  if (!existsSync(GOLDEN) || !existsSync(join(PEFT_DIR, "adapter_model.safetensors"))) {
    t.skip(`golden fixture missing: run python3 scripts/golden/lora-peft.py (needs ${GOLDEN} and ${PEFT_DIR})`);
    return;
  }
  const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as { input_ids: number[][]; logits: number[][][]; merged_logits: number[][][] };
  const model = loadPretrained(BASE);
  try {
    const lora = loadLoraAdapter(model, PEFT_DIR);
    assert.equal(lora.config.r, 4);
    assert.equal(lora.layers.size, 4 * model.config.numLayers);
    const ours = logitsOf(model, golden.input_ids);
    const diff = maxAbsDiff(ours, golden.logits.flat(2));
    assert.ok(diff < 1e-4, `max |logits - PEFT| = ${diff}`);
    const merged = lora.withMerged(() => logitsOf(model, golden.input_ids));
    const mdiff = maxAbsDiff(merged, golden.merged_logits.flat(2));
    assert.ok(mdiff < 1e-4, `max |merged logits - PEFT merge_and_unload| = ${mdiff}`);
    lora.dispose();
  } finally {
    model.dispose();
  }
});

test("saveLoraAdapter writes PEFT's layout (same keys as PEFT's file) and loads back to the same logits", (t) => {
  if (!existsSync(join(PEFT_DIR, "adapter_model.safetensors"))) {
    t.skip(`golden fixture missing: run python3 scripts/golden/lora-peft.py (needs ${PEFT_DIR})`);
    return;
  }
  const dir = tmp();
  const a = loadPretrained(BASE);
  const b = loadPretrained(BASE);
  try {
    const lora = applyLora(a, { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "o_proj", "down_proj"] });
    randomizeAdapters(lora, 3);
    const files = saveLoraAdapter(lora, dir, { baseModelNameOrPath: BASE });
    assert.deepEqual(files.sort(), ["adapter_config.json", "adapter_model.safetensors"]);
    const ourKeys = [...safetensors.readSafetensorsHeader(join(dir, "adapter_model.safetensors")).tensors.keys()].sort();
    const peftKeys = [...safetensors.readSafetensorsHeader(join(PEFT_DIR, "adapter_model.safetensors")).tensors.keys()].sort();
    assert.deepEqual(ourKeys, peftKeys);
    const cfg = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    const peftCfg = JSON.parse(readFileSync(join(PEFT_DIR, "adapter_config.json"), "utf8"));
    for (const k of ["peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "bias", "use_rslora", "use_dora", "base_model_name_or_path"]) {
      assert.deepEqual(cfg[k], peftCfg[k], `adapter_config.json '${k}'`);
    }
    assert.deepEqual([...cfg.target_modules].sort(), [...peftCfg.target_modules].sort());
    const back = loadLoraAdapter(b, dir);
    assert.deepEqual(logitsOf(b, IDS), logitsOf(a, IDS));
    assert.equal(readLoraAdapterConfig(dir).baseModelNameOrPath, BASE);
    back.dispose();
    lora.dispose();
  } finally {
    a.dispose();
    b.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loading refuses PEFT options it would not apply (DoRA, rank_pattern) with the field named", () => {
  const dir = tmp();
  const model = loadPretrained(BASE);
  try {
    const lora = applyLora(model, { r: 2, alpha: 4, targetModules: ["q_proj"] });
    saveLoraAdapter(lora, dir);
    lora.dispose();
    const cfgPath = join(dir, "adapter_config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, use_dora: true }));
    assert.throws(() => loadLoraAdapter(model, dir), /LoRA 'use_dora' must be false \(DoRA is not supported\)/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, rank_pattern: { q_proj: 8 } }));
    assert.throws(() => loadLoraAdapter(model, dir), /'rank_pattern' must be empty/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, r: 3 }));
    assert.throws(() => loadLoraAdapter(model, dir), /shape mismatch/);
    // A failed load leaves no adapter hooked on the model.
    const again = applyLora(model, { r: 2, alpha: 4, targetModules: ["q_proj"] });
    again.dispose();
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bf16 frozen base with fp32 adapters: forward in bf16, gradients reach only the fp32 adapters", () => {
  const model = loadPretrained(BASE, { dtype: "bfloat16" });
  try {
    const lora = applyLora(model, { r: 4, alpha: 8, dropout: 0.1, targetModules: ["q_proj", "v_proj"] });
    randomizeAdapters(lora, 5);
    assert.ok(lora.parameters().every((p) => p.dtype === "float32"));
    torch.tidy(() => {
      const logits = model.forward(torch.tensor(IDS));
      assert.equal(logits.dtype, "bfloat16");
      logits.to("float32").square().mean().backward();
    });
    assert.ok(lora.parameters().every((p) => p.grad !== null && p.grad.dtype === "float32"));
    assert.ok(model.parameters().every((p) => p.grad === null), "the frozen base gets no gradient");
    lora.zeroGrad();
    lora.dispose();
  } finally {
    model.dispose();
  }
});

test("generation with packed weights: unmerged adapters (packed base + branch) sample what the merged model samples", async (t) => {
  const { GenerationEngine } = await import("../../src/generation/index.ts");
  const { F } = await import("../../src/torch/index.ts");
  if (!F.packedLinearAvailable()) t.diagnostic("MKL packed GEMM unavailable in this libtorch: the engine runs unpacked (the branch path is still compared)");
  const model = loadPretrained(BASE);
  try {
    const lora = applyLora(model, { r: 4, alpha: 8, targetModules: "all-linear" });
    randomizeAdapters(lora, 11);
    const engine = new GenerationEngine({ model, maxBatchSize: 4, maxSeqLen: 64, packWeights: true });
    const run = () => engine.generate([[0, 5, 17, 33], [0, 3, 90]], { n: 2, maxTokens: 12, temperature: 0, seed: 1, ignoreEos: true });
    const unmerged = await run();
    lora.merge();
    const merged = await run();
    lora.unmerge();
    assert.deepEqual(unmerged.map((c) => c.tokenIds), merged.map((c) => c.tokenIds));
    for (let i = 0; i < merged.length; i++) {
      const d = Math.max(...merged[i]!.logprobs.map((x, j) => Math.abs(x - unmerged[i]!.logprobs[j]!)));
      assert.ok(d < 1e-4, `logprob diff ${d}`);
    }
    engine.dispose();
    lora.dispose();
  } finally {
    model.dispose();
  }
});
