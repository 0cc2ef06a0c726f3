// GGUF export: export → reload with our loader (F32/BF16/F16 exact to their rounding, Q8_0 within
// its step), metadata and tokenizer round trip, llama.cpp (node-llama-cpp) greedy agreement on tiny
// models of each architecture, the Ollama Modelfile, and the errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, type Tensor } from "../../src/torch/index.ts";
import { GgufError, GgufFile } from "../../src/torch/gguf.ts";
import { debugConfig, ggufTokenizerFiles, loadGguf, randomModel, Tokenizer, TokenizerError, type CausalLM, type ModelConfig } from "../../src/models/index.ts";
import { exportGguf, ggufModelMetadata, ggufTensorsOf, GgufExportError } from "../../src/models/gguf-export.ts";
import { ggufPreTokenizerName } from "../../src/models/gguf-tokenizer-export.ts";
import { chatTemplateFamily, defaultSystemPrompt, ollamaModelfile, ollamaTemplate } from "../../src/models/ollama-modelfile.ts";
import { agreement, llamaCpp, llamaCppGreedy, oursGreedy } from "./llama-cpp-greedy.ts";

torch.setNumThreads(1);
const DIR = "tests/fixtures/gguf";
const golden = JSON.parse(readFileSync(join(DIR, "golden.json"), "utf8")) as { texts: string[] };
const tmp = mkdtempSync(join(tmpdir(), "gguf-export-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const maxDiff = (a: Tensor, b: Tensor): number => torch.tidy(() => a.sub(b).abs().max().item() as number);

/** The reloaded weight must equal the original rounded the way the stored type rounds. */
function checkWeights(a: CausalLM, b: CausalLM, type: string): void {
  const own = b.stateDict();
  for (const [k, t] of a.stateDict()) {
    const r = own.get(k)!;
    if (t.ndim === 1 || type === "f32") assert.equal(maxDiff(r, t), 0, `${k} (${type})`);
    else if (type === "f16" || type === "bf16") assert.equal(maxDiff(r, torch.tidy(() => t.to(type === "f16" ? "float16" : "bfloat16").float())), 0, `${k} (${type})`);
    else {
      // Q8_0: half a step of amax/127 per block, plus the fp16 rounding of the step.
      const bound = ((t.abs().max().item() as number) / 127) * (0.5 + 127 / 2048);
      const d = maxDiff(r, t);
      // (0 when the source was Q8_0 already: re-quantising a Q8_0 block is exact.)
      assert.ok(d <= bound, `${k}: ${d} vs bound ${bound}`);
    }
  }
}

function checkTokenizer(a: Tokenizer, b: Tokenizer): void {
  for (const text of [...golden.texts, "<|im_start|>user\nhi<|im_end|>"]) {
    assert.deepEqual(b.encode(text), a.encode(text), `encode ${JSON.stringify(text)}`);
    assert.equal(b.decode(a.encode(text)), a.decode(a.encode(text)));
  }
  assert.equal(b.chatTemplate, a.chatTemplate);
  const chat = [{ role: "user" as const, content: "hi" }];
  assert.equal(b.applyChatTemplate(chat, { addGenerationPrompt: true }), a.applyChatTemplate(chat, { addGenerationPrompt: true }));
  assert.deepEqual([b.bosTokenId, b.eosTokenId, b.padTokenId, b.stopTokenIds, b.allSpecialIds], [a.bosTokenId, a.eosTokenId, a.padTokenId, a.stopTokenIds, a.allSpecialIds]);
}

const sameConfig = (a: ModelConfig, b: ModelConfig): void =>
  // llama.cpp stores epsilon and theta as float32.
  assert.deepEqual(b, { ...a, rmsNormEps: Math.fround(a.rmsNormEps), ropeTheta: Math.fround(a.ropeTheta) });

for (const family of ["llama", "qwen2", "qwen3"] as const) {
  test(`${family}: export → reload gives the same config, tokenizer and weights (F32/BF16/F16 exact, Q8_0 within a step)`, () => {
    const src = loadGguf(join(DIR, `${family}.gguf`));
    try {
      for (const type of ["f32", "bf16", "f16", "q8_0"] as const) {
        const path = join(tmp, `${family}-${type}.gguf`);
        const r = exportGguf(src.model, src.tokenizer, path, { type, name: `tiny-${family}` });
        const back = loadGguf(path);
        try {
          const matrices = { f32: "F32", bf16: "BF16", f16: "F16", q8_0: "Q8_0" }[type];
          assert.deepEqual(back.tensorTypes, r.tensorTypes);
          assert.ok(r.tensorTypes[matrices]! >= 7, JSON.stringify(r.tensorTypes));
          sameConfig(src.config, back.config);
          checkWeights(src.model, back.model, type);
          checkTokenizer(src.tokenizer, back.tokenizer);
          const file = GgufFile.open(path);
          assert.equal(file.get("general.name"), `tiny-${family}`);
          assert.equal(file.get("general.file_type"), { f32: 0, f16: 1, q8_0: 7, bf16: 32 }[type]);
          file.close();
        } finally {
          back.model.dispose();
        }
      }
    } finally {
      src.model.dispose();
    }
  });
}

test("a random Llama 3.1-style model (untied head, rope scaling, GQA) round-trips through GGUF", () => {
  const tokenizer = loadGguf(join(DIR, "llama.gguf")).tokenizer;
  const config = debugConfig("llama", { vocabSize: 271, tieWordEmbeddings: false, maxPositionEmbeddings: 128 });
  assert.ok(config.ropeScaling);
  const model = randomModel(config, { seed: 3 });
  try {
    const path = join(tmp, "llama31.gguf");
    exportGguf(model, tokenizer, path, { type: "f32" });
    const back = loadGguf(path);
    // The file also names the tokenizer's bos/eos, which the loader adds to the config.
    sameConfig({ ...config, bosTokenId: tokenizer.bosTokenId!, eosTokenId: tokenizer.eosTokenId }, back.config);
    checkWeights(model, back.model, "f32");
    const ids = torch.tensor([[1, 5, 9, 200, 3]]);
    assert.ok(maxDiff(torch.noGrad(() => model.forward(ids)), torch.noGrad(() => back.model.forward(ids))) < 1e-5);
    back.model.dispose();
  } finally {
    model.dispose();
  }
});

// llama.cpp runs our files: same greedy tokens as our engine on the same file.
test("llama.cpp loads the exported tiny models and decodes the same greedy tokens as we do", async (t) => {
  const llama = await llamaCpp();
  if (typeof llama === "string") {
    console.log(`# skipping llama.cpp agreement: ${llama}`);
    return t.skip(llama);
  }
  const src = loadGguf(join(DIR, "qwen3.gguf"));
  const prompts = golden.texts.slice(0, 3).map((t) => src.tokenizer.encode(t));
  src.model.dispose();
  const report: string[] = [];
  for (const file of ["llama-f32", "qwen2-f32", "qwen3-f32", "llama31", "llama-q8_0", "qwen2-q8_0", "qwen3-f16", "llama-bf16"]) {
    const path = join(tmp, `${file}.gguf`);
    const theirs = await llamaCppGreedy(path, prompts, 12);
    const ours = await oursGreedy(path, prompts, 12);
    const agree = agreement(ours, theirs.tokens);
    report.push(`${file}: ${agree.join("+")}/${prompts.length * 12}`);
    const detail = `${file}: ours ${JSON.stringify(ours)} vs llama.cpp ${JSON.stringify(theirs.tokens)}`;
    // Float32 weights, float32 math on both sides: every token agrees. With F16/BF16/Q8_0 weights llama.cpp
    // also rounds the activations to that type for its matmuls (we compute in float32), so a random
    // model's near-ties may flip later tokens; the first ones must still agree.
    if (file.endsWith("f32") || file === "llama31") assert.deepEqual(agree, [12, 12, 12], detail);
    else assert.ok(agree.every((n) => n >= 3), detail);
  }
  console.log(`# llama.cpp greedy agreement (tokens): ${report.join(", ")}`);
});

test("pre-tokenizer names: Hugging Face tokenizer.json shapes of SmolLM2, Qwen2 and Llama 3", () => {
  const bl = (useRegex: boolean) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  const split = (regex: string) => ({ type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }, bl(false)] });
  assert.equal(ggufPreTokenizerName({ type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, bl(true)] }), "smollm");
  assert.equal(ggufPreTokenizerName(bl(true)), "gpt2");
  const qwen2 = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
  assert.equal(ggufPreTokenizerName(split(qwen2)), "qwen2");
  assert.equal(ggufPreTokenizerName(split(qwen2.replace(String.raw`\p{N}|`, String.raw`\p{N}{1,3}|`))), "llama-bpe");
  assert.equal(ggufPreTokenizerName(split("\\w+")), undefined);
  assert.equal(ggufPreTokenizerName({ type: "Metaspace", replacement: "▁" }), undefined);
});

test("bad input: unknown type, unsupported architecture, non-BPE tokenizer, unmerged adapters, unwritable path", () => {
  const src = loadGguf(join(DIR, "qwen2.gguf"));
  try {
    assert.throws(() => exportGguf(src.model, src.tokenizer, join(tmp, "x.gguf"), { type: "q4_k" as "f16" }), (e: Error) => e instanceof GgufExportError && /type must be one of f32, f16, bf16, q8_0; got "q4_k"/.test(e.message));
    assert.throws(() => ggufModelMetadata({ ...src.config, family: "gemma" as "llama" }, { type: "f16", name: "x" }), /model family 'gemma' has no GGUF architecture; supported: llama, mistral, qwen2, qwen3/);
    const charLevel = Tokenizer.fromPretrained("assets/tiny-tokenizer");
    assert.throws(() => exportGguf(src.model, charLevel, join(tmp, "x.gguf")), (e: Error) => e instanceof TokenizerError && /only byte-level BPE tokenizers/.test(e.message));
    const withAdapter = {
      config: src.config,
      stateDict: () => new Map([...src.model.stateDict(), ["model.layers.0.self_attn.q_proj.lora_A.weight", torch.zeros([4, 64])]]),
    } as unknown as CausalLM;
    assert.throws(() => ggufTensorsOf(withAdapter, "f16"), /no GGUF name for model.layers.0.self_attn.q_proj.lora_A.weight.*merge LoRA adapters first/);
    writeFileSync(join(tmp, "a-file"), "");
    assert.throws(() => exportGguf(src.model, src.tokenizer, join(tmp, "a-file", "x.gguf")), (e: Error) => e instanceof GgufError && /a-file\/x\.gguf: cannot write/.test(e.message));
    const files = ggufTokenizerFiles(GgufFile.open(join(DIR, "qwen2.gguf")).metadata);
    const small = Tokenizer.fromJson(files);
    const big = randomModel(debugConfig("qwen2", { vocabSize: 128 }));
    assert.throws(() => exportGguf(big, small, join(tmp, "x.gguf")), /the tokenizer has 271 tokens but the model's vocab_size is 128/);
    big.dispose();
  } finally {
    src.model.dispose();
  }
});

/** Renders the subset of Go templates the Modelfile uses: range .Messages, .Role, .Content, trim markers. */
function renderGo(template: string, messages: Array<{ role: string; content: string }>): string {
  const parts = template.split(/(\{\{-?\s*[^}]*?\s*-?\}\})/);
  for (let i = 1; i < parts.length; i += 2) {
    if (parts[i]!.startsWith("{{-")) parts[i - 1] = parts[i - 1]!.trimEnd();
    if (parts[i]!.endsWith("-}}")) parts[i + 1] = parts[i + 1]!.trimStart();
  }
  const action = (p: string): string => p.replace(/^\{\{-?\s*|\s*-?\}\}$/g, "");
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) out += parts[i];
    else if (action(parts[i]!) === "range .Messages") {
      const end = parts.findIndex((p, j) => j > i && j % 2 === 1 && action(p) === "end");
      for (const m of messages) for (let j = i + 1; j < end; j++) out += j % 2 === 0 ? parts[j] : action(parts[j]!) === ".Role" ? m.role : m.content;
      i = end;
    } else throw new Error(`unexpected action ${parts[i]}`);
  }
  return out;
}

test("Modelfile: the Go TEMPLATE renders like the Jinja chat template (ChatML with SmolLM2's default system prompt, Llama 3)", () => {
  const smol =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
  const llama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
  const files = ggufTokenizerFiles(GgufFile.open(join(DIR, "llama.gguf")).metadata);
  const convo = [
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "4" },
    { role: "user", content: "And 3+3?" },
  ] as const;
  for (const [jinja, family] of [[smol, "chatml"], [llama3, "llama3"]] as const) {
    const tok = Tokenizer.fromJson({ ...files, chatTemplate: jinja });
    assert.equal(chatTemplateFamily(jinja), family);
    const system = defaultSystemPrompt(jinja);
    // Ollama puts the Modelfile's SYSTEM first when the conversation has no system message.
    const expected = tok.applyChatTemplate([...convo], { addGenerationPrompt: true }).replace(tok.specialTokens.bos ?? "\u0000", "");
    assert.equal(renderGo(ollamaTemplate(family), [...(system ? [{ role: "system", content: system }] : []), ...convo]), expected, family);
    const modelfile = ollamaModelfile({ from: "./m.gguf", tokenizer: tok });
    assert.match(modelfile, /^FROM \.\/m\.gguf$/m);
    assert.ok(modelfile.includes(`TEMPLATE """${ollamaTemplate(family)}"""`));
    assert.equal(modelfile.includes('SYSTEM """You are a helpful AI assistant named SmolLM, trained by Hugging Face"""'), family === "chatml");
    assert.match(modelfile, family === "chatml" ? /PARAMETER stop "<\|im_end\|>"/ : /PARAMETER stop "<\|eot_id\|>"/);
  }
  const other = ollamaModelfile({ from: "./m.gguf", tokenizer: Tokenizer.fromJson({ ...files, chatTemplate: "{{ messages[0]['content'] }}" }) });
  assert.doesNotMatch(other, /^TEMPLATE/m);
  assert.match(other, /no TEMPLATE written/);
});
