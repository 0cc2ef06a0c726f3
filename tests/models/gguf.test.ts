// GGUF models: tiny llama / qwen2 / qwen3 files written by gguf-py with mixed tensor types
// (scripts/golden/gguf-fixtures.py) load to the same logits as their dequantised safetensors twins
// and as transformers; their tokenizer (built from GGUF metadata) matches transformers' GGUF tokenizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { GgufFile } from "../../src/torch/gguf.ts";
import {
  ggufModelConfig,
  ggufNameFor,
  hfKeyFor,
  llama3ScalingFromFactors,
  loadGguf,
  loadPretrained,
  permuteRope,
  readGgufConfig,
  ropeInverseFrequencies,
  unpermuteRope,
  type ModelConfig,
} from "../../src/models/index.ts";
import { ggufTokenizerFiles } from "../../src/models/gguf-tokenizer.ts";
import { ModelConfigError } from "../../src/models/errors.ts";

torch.setNumThreads(1);
const DIR = "tests/fixtures/gguf";
interface FamilyGolden {
  input_ids: number[][];
  logits: number[][];
  tensor_types: Record<string, string>;
  tokenizer: Record<string, number[]>;
  decoded: Record<string, string>;
  chat: string;
}
const golden = JSON.parse(readFileSync(join(DIR, "golden.json"), "utf8")) as Record<string, FamilyGolden> & { texts: string[] };

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const family of ["llama", "qwen2", "qwen3"] as const) {
  test(`${family}: GGUF logits equal the dequantised safetensors model's and transformers'`, () => {
    const g = golden[family]!;
    const { model, config, tensorTypes } = loadGguf(join(DIR, `${family}.gguf`));
    const twin = loadPretrained(join(DIR, `${family}-hf`));
    try {
      assert.equal(config.family, family);
      // The fixture stores weights in several formats; the loader saw all of them.
      for (const t of new Set(Object.values(g.tensor_types))) assert.ok(tensorTypes[t]! > 0, `no ${t} tensor`);
      const [a, b] = torch.tidy(() => {
        const ids = torch.tensor(g.input_ids);
        return [torch.noGrad(() => model.forward(ids)).toFlatArray(), torch.noGrad(() => twin.forward(ids)).toFlatArray()];
      });
      assert.ok(maxAbsDiff(a!, b!) < 1e-5, `vs safetensors twin: ${maxAbsDiff(a!, b!)}`);
      assert.ok(maxAbsDiff(a!, g.logits.flat()) < 1e-4, `vs transformers: ${maxAbsDiff(a!, g.logits.flat())}`);
      // Same parameters, same names: the GGUF model is an ordinary model from here on.
      const own = model.stateDict();
      for (const [k, t] of twin.stateDict()) {
        const diff = torch.tidy(() => own.get(k)!.sub(t).abs().max().item() as number);
        assert.ok(diff < 1e-6, `${k}: ${diff}`);
      }
    } finally {
      model.dispose();
      twin.dispose();
    }
  });

  test(`${family}: tokenizer from GGUF metadata matches transformers' GGUF tokenizer`, () => {
    const g = golden[family]!;
    const { tokenizer } = readGgufConfig(join(DIR, `${family}.gguf`));
    for (const text of golden.texts) {
      const ids = tokenizer.encode(text);
      assert.deepEqual(ids, g.tokenizer[text], `encode ${JSON.stringify(text)}`);
      assert.equal(tokenizer.decode(ids), g.decoded[text], `decode ${JSON.stringify(text)}`);
    }
    assert.equal(tokenizer.applyChatTemplate([{ role: "user", content: "hi" }], { addGenerationPrompt: true }), g.chat);
    assert.equal(tokenizer.eosTokenId, tokenizer.tokenToId("<|im_end|>"));
    assert.ok(tokenizer.allSpecialIds.includes(tokenizer.tokenToId("<|im_start|>")!));
    assert.ok(!tokenizer.allSpecialIds.includes(tokenizer.tokenToId("<think>")!), "user-defined tokens are not special");
  });
}

test("llama q/k un-permutation is the inverse of llama.cpp's permutation, and is not the identity", () => {
  torch.tidy(() => {
    const w = torch.arange(0, 8 * 3).reshape([8, 3]).to("float32");
    const p = permuteRope(w, 2);
    assert.notDeepEqual(p.toArray(), w.toArray());
    // One head of 4 rows [r0 r1 | r2 r3] is stored interleaved as [r0 r2 r1 r3].
    assert.deepEqual((p.toArray() as number[][]).slice(0, 4).map((r) => r[0]), [0, 6, 3, 9]);
    assert.deepEqual(unpermuteRope(p, 2).toArray(), w.toArray());
  });
});

test("GGUF ↔ HF key mapping round-trips", () => {
  for (const name of ["token_embd.weight", "output.weight", "output_norm.weight", "blk.3.attn_q.bias", "blk.0.ffn_down.weight", "blk.11.attn_k_norm.weight"]) {
    const key = hfKeyFor(name);
    assert.ok(key, name);
    assert.equal(ggufNameFor(key), name);
  }
  assert.equal(hfKeyFor("blk.0.attn_q.weight"), "model.layers.0.self_attn.q_proj.weight");
  assert.equal(hfKeyFor("blk.0.unknown.weight"), undefined);
});

function metadataOf(path: string): Map<string, unknown> {
  const f = GgufFile.open(path);
  try {
    return new Map(f.metadata);
  } finally {
    f.close();
  }
}

test("config errors name the GGUF key", () => {
  const meta = metadataOf(join(DIR, "qwen3.gguf"));
  const names = [...GgufFile.open(join(DIR, "qwen3.gguf")).tensors.keys()];
  const base: ModelConfig = ggufModelConfig({ metadata: meta as never, tensorNames: names });
  assert.equal(base.headDim, 32);
  assert.equal(base.tieWordEmbeddings, true);
  const bad = (patch: Record<string, unknown>, re: RegExp): void => {
    const m = new Map(meta);
    for (const [k, v] of Object.entries(patch)) m.set(k, v);
    assert.throws(() => ggufModelConfig({ metadata: m as never, tensorNames: names, path: "x.gguf" }), (e: Error) => e instanceof ModelConfigError && re.test(e.message));
  };
  bad({ "general.architecture": "gemma3" }, /general.architecture.*one of llama, qwen2, qwen3/);
  bad({ "qwen3.expert_count": 8 }, /qwen3.expert_count/);
  bad({ "qwen3.rope.dimension_count": 16 }, /partial RoPE/);
  bad({ "qwen3.rope.scaling.type": "yarn" }, /rope.scaling.type/);
  bad({ "qwen3.block_count": undefined }, /qwen3.block_count.*positive integer/);
});

test("tokenizer errors: SentencePiece vocabularies and unknown pre-tokenizers are refused by name", () => {
  const meta = metadataOf(join(DIR, "llama.gguf"));
  meta.set("tokenizer.ggml.model", "llama");
  assert.throws(() => ggufTokenizerFiles(meta as never, { path: "x.gguf" }), /tokenizer.ggml.model "llama" is not supported.*tokenizer_path/);
  meta.set("tokenizer.ggml.model", "gpt2");
  meta.set("tokenizer.ggml.pre", "mystery");
  assert.throws(() => ggufTokenizerFiles(meta as never), /tokenizer.ggml.pre "mystery" is not a known pre-tokenizer/);
});

test("Llama 3.1 rope_freqs factors → llama3 RoPE scaling; other factors are refused", () => {
  const config = readGgufConfig(join(DIR, "llama.gguf")).config;
  const llama31: ModelConfig = { ...config, headDim: 128, ropeTheta: 500000 };
  const scaled = ropeInverseFrequencies({ ...llama31, ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } });
  const base = ropeInverseFrequencies({ ...llama31, ropeScaling: null });
  const factors = base.map((b, i) => b / scaled[i]!); // what llama.cpp stores in rope_freqs.weight
  assert.ok(factors.some((f) => f > 7.9) && factors.some((f) => f === 1), "the fixture spans scaled and unscaled frequencies");
  const got = llama3ScalingFromFactors(llama31, factors, new Map());
  assert.deepEqual(got, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  const other = factors.map((f) => f * 1.5);
  assert.throws(() => llama3ScalingFromFactors(llama31, other, new Map(), "x.gguf"), /rope_freqs.weight/);
  assert.throws(() => llama3ScalingFromFactors(llama31, factors.slice(1), new Map()), /head_dim \/ 2/);
});
