import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSftConfig } from "../../src/config/index.ts";
import { loadPretrained, Tokenizer } from "../../src/models/index.ts";
import { runSft } from "../../apps/sft/sft-run.ts";

const quiet = { log: () => undefined, progress: false };

test("SFT on chat and prompt/response JSONL: held-out loss falls, HF model directory written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-sft-"));
  const data = join(dir, "data");
  const rows = (n: number) => Array.from({ length: n }, (_, i) =>
    i % 2
      ? JSON.stringify({ messages: [{ role: "user", content: `say ${i % 5}` }, { role: "assistant", content: `<answer>${i % 5}</answer>` }] })
      : JSON.stringify({ prompt: `say ${i % 5}`, response: `<answer>${i % 5}</answer>` }));
  const { mkdirSync } = await import("node:fs");
  mkdirSync(data);
  writeFileSync(join(data, "train.jsonl"), rows(40).join("\n") + "\n");
  writeFileSync(join(data, "test.jsonl"), rows(10).join("\n") + "\n");
  const lines: string[] = [];
  const { config, snake } = loadSftConfig({
    data: {
      output_dir: join(dir, "run"),
      model: { preset: "tiny", seed: 0 },
      dataset: { path: data, split: "train", eval_split: "test", prompt_format: "chat" },
      training: { batch_size: 8, learning_rate: 3e-3, seq_len: 64, steps: 30, packing: true },
      checkpoint: { enable: false, folder: join(dir, "ckpt") },
      eval: { eval_every_n_steps: 15, num_prompts: 10 },
    },
  });
  const r = await runSft({ config, rawConfig: snake, log: (l) => lines.push(l), progress: false });
  assert.equal(r.steps, 30);
  const losses = lines.filter((l) => l.includes("held-out loss")).map((l) => Number(/loss ([\d.]+)/.exec(l)![1]));
  assert.equal(losses.length, 2, lines.join("\n"));
  assert.ok(losses[1]! < losses[0]!, `held-out loss should fall: ${losses}`);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) assert.ok(existsSync(join(r.modelDir, f)), f);
  const model = loadPretrained(r.modelDir);
  assert.equal(Tokenizer.fromPretrained(r.modelDir).vocabSize, model.config.vocabSize);
  model.dispose();
  assert.match(readFileSync(join(dir, "run", "metrics.jsonl"), "utf8"), /eval\/loss/);
});

test("SFT errors: a missing eval split file is named", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-sft-"));
  writeFileSync(join(dir, "train.jsonl"), JSON.stringify({ prompt: "a", response: "b" }) + "\n");
  const { config, snake } = loadSftConfig({
    data: { output_dir: join(dir, "run"), model: { preset: "tiny" }, dataset: { path: dir, eval_split: "dev" }, training: { steps: 1 } },
  });
  await assert.rejects(runSft({ config, rawConfig: snake, ...quiet }), /dataset.eval_split 'dev': dataset not found at .*: no files for split 'dev' \(looked for dev.jsonl, dev.json, dev.parquet/);
  await assert.rejects(runSft({ config, rawConfig: snake, resume: true, ...quiet }), /--resume: no checkpoint in .*; run without --resume to start fresh, or use --resume=auto/);
  assert.equal(existsSync(join(dir, "run", ".lock")), false, "a failed run releases the output directory");
});

test("SFT resume continues the same data order: 2 steps + resume to 4 equals a fresh 4-step run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-sft-"));
  const lines = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `say ${i}`, response: `<answer>${i}</answer>` }));
  writeFileSync(join(dir, "train.jsonl"), lines.join("\n") + "\n");
  const run = async (name: string, steps: number, resume: boolean) => {
    const { config, snake } = loadSftConfig({
      data: {
        output_dir: join(dir, name),
        model: { preset: "tiny", seed: 0 },
        dataset: { path: dir, split: "train", prompt_format: "raw" },
        training: { batch_size: 4, learning_rate: 3e-3, seq_len: 32, steps },
        lr_scheduler: { warmup_steps: 0, decay_type: "constant" },
        checkpoint: { enable: true, folder: join(dir, name, "ckpt"), interval: 2 },
        eval: { eval_every_n_steps: 100 },
      },
    });
    return runSft({ config, rawConfig: snake, resume, ...quiet });
  };
  await run("resumed", 2, false);
  const resumed = await run("resumed", 4, true);
  const fresh = await run("fresh", 4, false);
  const a = readFileSync(join(resumed.modelDir, "model.safetensors"));
  const b = readFileSync(join(fresh.modelDir, "model.safetensors"));
  assert.ok(a.equals(b), "resumed and fresh weights differ");
});
