import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import { resolveModel, ModelNotFoundError } from "../../apps/shared/resolve-model.ts";
import { main as forge } from "../../src/cli/forge.ts";

const app = (p: string) => fileURLToPath(new URL(`../../apps/${p}`, import.meta.url));

test("shipped real-model configs validate and name a clear error when the model is missing", () => {
  for (const file of ["grpo/default.yaml", "grpo/qwen3_1_7b.yaml", "grpo/grpo_math.yaml", "agent/calculator.yaml", "agent/calculator_openai.yaml"]) {
    const { config, warnings } = loadGrpoConfig({ path: app(file), env: { HF_HOME: "/nonexistent-hf-home" } });
    assert.ok(config.training.steps > 0, file);
    assert.deepEqual(warnings, [], `${file} sets keys the app does not read`);
  }
  const sft = loadSftConfig({ path: app("sft/llama3_8b.yaml") });
  assert.equal(sft.config.training.packing, true);
  const prev = process.env.HF_HOME;
  process.env.HF_HOME = "/nonexistent-hf-home";
  try {
    const { config } = loadGrpoConfig({ path: app("grpo/qwen3_1_7b.yaml") });
    assert.throws(() => resolveModel({ ...config.model, dtype: "bfloat16" }), (e: Error) =>
      e instanceof ModelNotFoundError &&
      /model 'Qwen\/Qwen3-1.7B' not found; looked at: .*Qwen\/Qwen3-1.7B, \/nonexistent-hf-home\/hub\/models--Qwen--Qwen3-1.7B\/snapshots/.test(e.message) &&
      /huggingface-cli download Qwen\/Qwen3-1.7B/.test(e.message));
  } finally {
    if (prev === undefined) delete process.env.HF_HOME;
    else process.env.HF_HOME = prev;
  }
});

test("forge dispatches to the apps and rejects unknown ones", async () => {
  assert.equal(await forge([]), 2);
  assert.equal(await forge(["--help"]), 0);
  assert.equal(await forge(["rlhf"]), 2);
  assert.equal(await forge(["grpo", "training.not_a_key=1"]), 3); // config error (README "exit codes")
});

test("model.tokenizer_path may name a bare tokenizer directory (no config.json) beside a model path", () => {
  const { model, tokenizer } = resolveModel({ path: app("../assets/default-model"), tokenizerPath: app("../assets/tiny-agent-tokenizer"), dtype: "float32", seed: 0 });
  try {
    assert.ok(tokenizer.tokenToId("<tool_call>") !== undefined, "the agent tokenizer was loaded, not the model's own");
  } finally {
    model.dispose();
  }
});
