// The real SmolLM2-135M-Instruct Q4_1 GGUF (fetched by scripts/fetch-smollm2.sh) against
// transformers loading the same file (golden values from scripts/golden/gguf-smollm2.py):
// tokenizer ids, chat template, first-step logits and greedy tokens. Skipped, with the reason
// printed, when the model is not in the cache (CI has it only if the fetch script ran).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { loadGguf, type LoadedGguf } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";

const FILE = join(process.env.TORCHFORGE_CACHE ?? join(homedir(), ".cache", "torchforge"), "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
const golden = JSON.parse(readFileSync("tests/fixtures/gguf/smollm2-golden.json", "utf8")) as {
  texts: string[];
  transformers_ids: Record<string, number[]>;
  llamacpp_ids: Record<string, number[]>;
  prompts: string[];
  prompt_text: string[];
  generations: Array<{ prompt_ids: number[]; greedy: number[]; top10_ids: number[]; top10_logits: number[] }>;
};
const skip = existsSync(FILE) ? false : `SmolLM2 GGUF not cached at ${FILE}; run \`bash scripts/fetch-smollm2.sh\` to enable`;
if (skip) console.log(`# skipping SmolLM2 tests: ${skip}`);

let loaded: LoadedGguf | undefined;
function smol(): LoadedGguf {
  loaded ??= loadGguf(FILE);
  return loaded;
}

test("SmolLM2 GGUF: config and tensor types as shipped", { skip }, () => {
  const { config, tensorTypes } = smol();
  assert.equal(config.family, "llama");
  assert.deepEqual([config.numLayers, config.hiddenSize, config.numHeads, config.numKvHeads, config.vocabSize], [30, 576, 9, 3, 49152]);
  assert.equal(config.tieWordEmbeddings, true);
  assert.deepEqual(tensorTypes, { Q8_0: 1, F32: 61, Q4_1: 210 });
});

test("SmolLM2 GGUF: tokenizer ids and chat template equal transformers' (and llama.cpp's digit rule)", { skip }, () => {
  const { tokenizer } = smol();
  for (const text of golden.texts) {
    const ids = tokenizer.encode(text);
    assert.deepEqual(ids, golden.llamacpp_ids[text], `encode ${JSON.stringify(text)}`);
    assert.deepEqual(ids, golden.transformers_ids[text], `encode ${JSON.stringify(text)} (transformers)`);
    assert.equal(tokenizer.decode(ids), text);
  }
  golden.prompts.forEach((p, i) => {
    assert.equal(tokenizer.applyChatTemplate([{ role: "user", content: p }], { addGenerationPrompt: true }), golden.prompt_text[i]);
    assert.deepEqual(tokenizer.applyChatTemplate([{ role: "user", content: p }], { addGenerationPrompt: true, tokenize: true }), golden.generations[i]!.prompt_ids);
  });
  assert.equal(tokenizer.decode([tokenizer.eosTokenId]), "<|im_end|>");
});

test("SmolLM2 GGUF: first-step logits and greedy tokens equal transformers' on 3 prompts", { skip }, async () => {
  const { model, tokenizer } = smol();
  for (const g of golden.generations) {
    const top = torch.tidy(() => {
      const logits = torch.noGrad(() => model.forward(torch.tensor([g.prompt_ids])));
      const last = logits.select(1, g.prompt_ids.length - 1).squeeze(0);
      return g.top10_ids.map((id) => last.select(0, id).item() as number);
    });
    top.forEach((v, i) => assert.ok(Math.abs(v - g.top10_logits[i]!) < 2e-3, `logit of ${g.top10_ids[i]}: ${v} vs ${g.top10_logits[i]}`));
  }
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 3, maxSeqLen: 128 });
  const out = await engine.generate(
    golden.generations.map((g) => g.prompt_ids),
    { greedy: true, maxTokens: golden.generations[0]!.greedy.length, ignoreEos: true },
  );
  out.forEach((c, i) => assert.deepEqual(c.tokenIds, golden.generations[i]!.greedy, `prompt ${i}: ${JSON.stringify(c.text)}`));
});

test("SmolLM2 GGUF: release", { skip }, () => {
  loaded?.model.dispose();
  loaded = undefined;
});
