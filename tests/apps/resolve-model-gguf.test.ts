// A `.gguf` file is accepted wherever a model path is (model.path and model.tokenizer_path).
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { ModelNotFoundError, expandHome, resolveModel, resolveTokenizer } from "../../apps/shared/resolve-model.ts";
import { homedir } from "node:os";

torch.setNumThreads(1);
const GGUF = "tests/fixtures/gguf/qwen3.gguf";

test("model.path: a .gguf file gives the model and the tokenizer from its metadata", () => {
  const { model, tokenizer, source } = resolveModel({ path: GGUF, dtype: "bfloat16", seed: 0 });
  try {
    assert.equal(source, resolve(GGUF));
    assert.equal(model.config.family, "qwen3");
    assert.equal(model.dtype, "bfloat16");
    assert.ok(tokenizer.hasChatTemplate);
    assert.deepEqual(tokenizer.encode("the world"), [116, 257, 265, 108, 100]);
  } finally {
    model.dispose();
  }
});

test("model.tokenizer_path: a .gguf file; the existing directory forms keep working", () => {
  const tok = resolveTokenizer(GGUF);
  assert.equal(tok.eosTokenId, tok.tokenToId("<|im_end|>"));
  const { model, tokenizer } = resolveModel({ path: "tests/fixtures/gguf/qwen3-hf", tokenizerPath: GGUF, dtype: "float32", seed: 0 });
  model.dispose();
  assert.equal(tokenizer.vocabSize, tok.vocabSize);
});

test("a missing .gguf names the file and how to get SmolLM2", () => {
  assert.throws(
    () => resolveModel({ path: "/nowhere/SmolLM2-135M-Instruct.Q4_1.gguf", dtype: "float32", seed: 0 }),
    (e: Error) => e instanceof ModelNotFoundError && /\/nowhere\/SmolLM2-135M-Instruct.Q4_1.gguf/.test(e.message) && /fetch-smollm2\.sh/.test(e.message),
  );
  assert.equal(expandHome("~/x.gguf"), resolve(homedir(), "x.gguf"));
  assert.equal(expandHome("a/~/x"), "a/~/x");
});
