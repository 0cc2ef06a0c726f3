// HF checkpoint load/save round trips, config parsing errors, and architecture details checked
// against independently computed values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, truncateSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, F, safetensors } from "../../src/torch/index.ts";
import {
  CausalLM, ModelConfigError, ModelLoadError, debugConfig, debugModel, loadPretrained, parseHfConfig, ropeInverseFrequencies, savePretrained, toHfConfig, type ModelFamily,
} from "../../src/models/index.ts";

// Tiny models: one thread avoids OpenMP spin contention on a shared 2-core machine.
torch.setNumThreads(1);

const FIXTURES = "tests/fixtures/models";
const tmp = (): string => mkdtempSync(join(tmpdir(), "tf-models-"));

function logitsOf(model: CausalLM, ids: number[][]): number[] {
  return torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor(ids))).toFlatArray());
}

test("HF checkpoint load → save (sharded) → load round trip keeps names, config and logits", () => {
  const dir = tmp();
  try {
    for (const arch of ["llama", "qwen2", "qwen3", "mistral"]) {
      const a = loadPretrained(join(FIXTURES, arch));
      const out = join(dir, arch);
      const files = savePretrained(a, out, { maxShardBytes: 40_000 });
      assert.ok(files.includes("model.safetensors.index.json"), `${arch}: expected shards, got ${files}`);
      const original = JSON.parse(readFileSync(join(FIXTURES, arch, "config.json"), "utf8"));
      const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      assert.deepEqual({ ...saved, torch_dtype: undefined }, { ...original, torch_dtype: undefined });
      const names = new Set(Object.keys(JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8")).weight_map));
      const hfNames = new Set(safetensors.readSafetensorsHeader(join(FIXTURES, arch, "model.safetensors")).tensors.keys());
      assert.deepEqual([...names].sort(), [...hfNames].sort(), `${arch}: tensor names differ from HF's`);
      const b = loadPretrained(out);
      const ids = [[1, 5, 9, 77, 3]];
      assert.deepEqual(logitsOf(b, ids), logitsOf(a, ids));
      a.dispose();
      b.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dtype choice at load and save (bf16 files, fp32 model and back)", () => {
  const dir = tmp();
  try {
    const a = loadPretrained(join(FIXTURES, "qwen3"), { dtype: "bfloat16" });
    assert.equal(a.dtype, "bfloat16");
    savePretrained(a, dir);
    const header = safetensors.readSafetensorsHeader(join(dir, "model.safetensors"));
    assert.ok([...header.tensors.values()].every((t) => t.dtype === "bfloat16"));
    assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).torch_dtype, "bfloat16");
    const b = loadPretrained(dir);
    assert.equal(b.dtype, "bfloat16", "defaults to the checkpoint's torch_dtype");
    const c = loadPretrained(dir, { dtype: "float32" });
    assert.equal(c.dtype, "float32");
    const ids = [[4, 8, 15, 16, 23, 42]];
    const fp32 = loadPretrained(join(FIXTURES, "qwen3"));
    const ref = logitsOf(fp32, ids);
    const diff = Math.max(...logitsOf(c, ids).map((x, i) => Math.abs(x - ref[i]!)));
    assert.ok(diff < 0.1, `bf16-rounded weights should stay close; diff ${diff}`);
    for (const m of [a, b, c, fp32]) m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("debug presets of every family save as HF configs that parse back identically", () => {
  const dir = tmp();
  try {
    for (const family of ["llama", "qwen2", "qwen3", "mistral"] as ModelFamily[]) {
      const m = debugModel(family, { seed: 3 });
      savePretrained(m, join(dir, family));
      const back = loadPretrained(join(dir, family));
      assert.deepEqual(back.config, { ...m.config, dtype: "float32" });
      assert.deepEqual(logitsOf(back, [[1, 2, 3]]), logitsOf(m, [[1, 2, 3]]));
      // Tied families have no lm_head parameter, as in HF checkpoints.
      assert.equal(m.stateDict().has("lm_head.weight"), !m.config.tieWordEmbeddings);
      m.dispose();
      back.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("architecture details: GQA shapes, Qwen2 qkv bias, Qwen3 q/k norm, HF parameter names", () => {
  const q3 = debugModel("qwen3");
  const sd = q3.stateDict();
  assert.deepEqual(sd.get("model.layers.0.self_attn.q_proj.weight")!.shape, [4 * 16, 64]);
  assert.deepEqual(sd.get("model.layers.0.self_attn.k_proj.weight")!.shape, [2 * 16, 64]);
  assert.deepEqual(sd.get("model.layers.1.self_attn.q_norm.weight")!.shape, [16]);
  assert.ok(!sd.has("model.layers.0.self_attn.q_proj.bias"));
  const q2 = debugModel("qwen2");
  assert.deepEqual(q2.stateDict().get("model.layers.0.self_attn.v_proj.bias")!.shape, [32]);
  assert.ok(!q2.stateDict().has("model.layers.0.self_attn.o_proj.bias"));
  assert.deepEqual([...debugModel("llama").stateDict().keys()].slice(0, 3), ["model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight"]);
  q3.dispose();
  q2.dispose();
});

test("RoPE: plain and llama3-scaled inverse frequencies match hand-computed values", () => {
  const plain = ropeInverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null });
  assert.deepEqual(plain.map((x) => +x.toPrecision(12)), [1, 0.1, 0.01, 0.001].map((x) => +x.toPrecision(12)));
  // Llama 3.1 (factor 8, low 1, high 4, original 8192), theta 500000, D = 128: the first pair is
  // high frequency (kept), the last is low frequency (divided by 8), one in between is smoothed.
  const scaled = ropeInverseFrequencies({ headDim: 128, ropeTheta: 500000, ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } });
  const base = (i: number): number => 1 / Math.pow(500000, (2 * i) / 128);
  assert.equal(scaled[0], 1);
  assert.ok(Math.abs(scaled[63]! - base(63) / 8) < 1e-15);
  const wavelen = (2 * Math.PI) / base(32);
  assert.ok(wavelen > 8192 / 4 && wavelen < 8192, "pair 32 is in the smoothed band");
  const smooth = (8192 / wavelen - 1) / (4 - 1);
  assert.ok(Math.abs(scaled[32]! - ((1 - smooth) * base(32) / 8 + smooth * base(32))) < 1e-15);
  // Rotation at position 0 is the identity, and the model applies rotate-half (q·k depends on the offset only).
  torch.tidy(() => {
    const x = torch.randn([1, 1, 1, 8]);
    const same = F.applyRotaryEmb(x, torch.ones([1, 8]), torch.zeros([1, 8]));
    assert.ok(same.sub(x).abs().amax().item() < 1e-7);
  });
});

test("tokenLogprobs with temperature equals logSoftmax(logits / T) gathered at the targets", () => {
  const m = debugModel("mistral", { seed: 1, initStd: 0.2 });
  torch.tidy(() => {
    const ids = torch.tensor([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]]);
    const targets = torch.tensor([[1, 4, 1, 5, 9], [2, 6, 5, 3, 5]]);
    const fast = torch.noGrad(() => m.tokenLogprobs(ids, targets, { temperature: 0.7 }));
    const slow = torch.noGrad(() => m.forward(ids).div(0.7).logSoftmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1));
    assert.ok(fast.sub(slow).abs().amax().item() < 1e-5);
    // Right padding does not change the real positions' logprobs.
    const padded = torch.noGrad(() => m.tokenLogprobs(torch.tensor([[3, 1, 4, 0, 0]]), targets.narrow(0, 0, 1), { temperature: 0.7, attentionMask: torch.tensor([[1, 1, 1, 0, 0]]) }));
    assert.ok(padded.narrow(1, 0, 3).sub(fast.narrow(0, 0, 1).narrow(1, 0, 3)).abs().amax().item() < 1e-5);
  });
  m.dispose();
});

test("bad inputs: missing/corrupt files, unknown architecture, unsupported config values", () => {
  const dir = tmp();
  try {
    assert.throws(() => loadPretrained(join(dir, "nope")), (e: Error) => e instanceof ModelLoadError && /model directory not found/.test(e.message));
    assert.throws(() => loadPretrained(dir), /config.json not found/);
    writeFileSync(join(dir, "config.json"), "{ not json");
    assert.throws(() => loadPretrained(dir), /config.json is not valid JSON/);
    const good = JSON.parse(readFileSync(join(FIXTURES, "llama", "config.json"), "utf8"));
    const bad = (patch: Record<string, unknown>, field: RegExp) => {
      assert.throws(() => parseHfConfig({ ...good, ...patch }), (e: Error) => e instanceof ModelConfigError && field.test(e.message), JSON.stringify(patch));
    };
    bad({ architectures: ["GPT2LMHeadModel"] }, /'architectures' must be one of LlamaForCausalLM/);
    bad({ rope_parameters: { rope_type: "yarn", rope_theta: 1e4, factor: 4 } }, /'rope_parameters.rope_type'/);
    bad({ rope_parameters: undefined, rope_theta: 1e4, rope_scaling: { type: "dynamic", factor: 2 } }, /'rope_scaling.rope_type'/);
    bad({ hidden_act: "gelu" }, /'hidden_act'/);
    bad({ num_key_value_heads: 3 }, /'num_key_value_heads' must be a divisor/);
    bad({ sliding_window: 64 }, /'sliding_window' must be null for Llama/);
    bad({ hidden_size: undefined }, /'hidden_size' must be a positive integer; it is missing/);
    const q = JSON.parse(readFileSync(join(FIXTURES, "qwen2", "config.json"), "utf8"));
    assert.throws(() => parseHfConfig({ ...q, use_sliding_window: true }), /'use_sliding_window'/);
    // Mistral's window caps the context instead of failing.
    const mi = JSON.parse(readFileSync(join(FIXTURES, "mistral", "config.json"), "utf8"));
    assert.equal(parseHfConfig({ ...mi, sliding_window: 64 }).maxPositionEmbeddings, 64);

    // Corrupt and incomplete weights.
    const corrupt = join(dir, "corrupt");
    cpSync(join(FIXTURES, "llama"), corrupt, { recursive: true });
    truncateSync(join(corrupt, "model.safetensors"), 5000);
    assert.throws(() => loadPretrained(corrupt), (e: Error) => e instanceof ModelLoadError && /cannot read weights/.test(e.message));
    rmSync(join(corrupt, "model.safetensors"));
    assert.throws(() => loadPretrained(corrupt), /neither model.safetensors.index.json nor model.safetensors/);
    const missing = join(dir, "missing");
    cpSync(join(FIXTURES, "llama"), missing, { recursive: true });
    const state = safetensors.loadCheckpoint(missing);
    state.get("model.norm.weight")!.dispose();
    state.delete("model.norm.weight");
    safetensors.saveSafetensors(join(missing, "model.safetensors"), state);
    for (const t of state.values()) t.dispose();
    assert.throws(() => loadPretrained(missing), /missing tensors: model.norm.weight/);
    const wrongArch = join(dir, "wrong");
    cpSync(join(FIXTURES, "qwen2"), wrongArch, { recursive: true });
    writeFileSync(join(wrongArch, "config.json"), JSON.stringify({ ...q, architectures: ["Qwen3ForCausalLM"] }));
    assert.throws(() => loadPretrained(wrongArch), /weights do not match the qwen3 config/);
    assert.ok(existsSync(join(FIXTURES, "llama", "model.safetensors")));
    void readdirSync;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("toHfConfig output is accepted by parseHfConfig for a llama3-scaled config", () => {
  const cfg = debugConfig("llama");
  assert.deepEqual(parseHfConfig(toHfConfig(cfg)), { ...cfg, dtype: "float32" });
});
