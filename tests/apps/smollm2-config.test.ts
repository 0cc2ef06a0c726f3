// The shipped SmolLM2 GRPO config (apps/grpo/smollm2_arith.yaml): it validates, its task and prompt
// format are what BENCHMARKS.md measured, and — with the GGUF cached (scripts/fetch-smollm2.sh),
// else skipped with the reason — it runs one GRPO step on a tiny batch of the real model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";
import { resolveDataset } from "../../apps/shared/resolve-dataset.ts";
import { encodePrompt } from "../../apps/shared/prompts.ts";
import { resolveTokenizer } from "../../apps/shared/resolve-model.ts";

const CONFIG = "apps/grpo/smollm2_arith.yaml";
const FILE = join(homedir(), ".cache", "torchforge", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
const skip = existsSync(FILE) ? false : `SmolLM2 GGUF not cached at ${FILE}; run \`bash scripts/fetch-smollm2.sh\` to enable`;
if (skip) console.log(`# skipping the SmolLM2 GRPO step: ${skip}`);

test("smollm2_arith.yaml validates: the GGUF model, add-small with a held-out split, a one-example prompt", async () => {
  const { config } = loadGrpoConfig({ path: CONFIG });
  assert.match(config.model.path ?? "", /SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
  assert.equal(config.dataset.path, "arithmetic:add-small");
  assert.equal(config.dataset.promptFormat, "chat");
  assert.deepEqual(config.dataset.fewShot, [{ user: "What is 3+4?", assistant: "<answer>7</answer>" }]);
  assert.equal(config.training.batchSize % config.grpo.nSamples, 0, "whole groups per step");
  const data = await resolveDataset(config.dataset);
  assert.equal(data.eval.length, 100);
  assert.equal(data.train.length, 300);
  const train = new Set(data.train.map((e) => e.prompt));
  assert.ok(data.eval.every((e) => !train.has(e.prompt)), "held-out prompts are not trained on");
  assert.ok(config.eval.numPrompts <= data.eval.length);
});

test("the few-shot example is an earlier chat turn of every prompt", { skip }, () => {
  const { config } = loadGrpoConfig({ path: CONFIG });
  const tokenizer = resolveTokenizer(config.model.path!);
  const ids = encodePrompt(tokenizer, "What is 12+5?", config.dataset);
  const text = tokenizer.decode(ids, { skipSpecialTokens: false });
  const example = text.indexOf("<answer>7</answer>");
  assert.ok(example > 0 && example < text.indexOf("What is 12+5?"), text);
  assert.ok(ids.length <= config.grpo.maxPromptTokens, `prompt has ${ids.length} tokens > max_prompt_tokens`);
});

test("the shipped config runs one GRPO step of the real model on a tiny batch", { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-smollm2-"));
  const { config, snake } = loadGrpoConfig({
    path: CONFIG,
    overrides: [
      `output_dir=${dir}`,
      "training.steps=1",
      "training.batch_size=4",
      "grpo.n_samples=2",
      "grpo.max_new_tokens=8",
      "grpo.filter_zero_variance=false",
      "eval.num_prompts=2",
      "eval.eval_every_n_steps=1",
      "checkpoint.enable=false",
    ],
  });
  const r = await runGrpo({ config, rawConfig: snake, log: () => undefined, progress: false });
  assert.equal(r.steps, 1);
  assert.deepEqual(
    r.evals.map((e) => e.step),
    [0, 1],
  );
  for (const e of r.evals) assert.ok(e.result.accuracy >= 0 && e.result.accuracy <= 1);
});
