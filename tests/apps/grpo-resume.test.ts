import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { decodeEvent, decodeTfRecords, readMetricsJsonl } from "../../src/observability/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";

/** A few-step GRPO run of a tiny random model on 1-digit addition, checkpoint every 2 steps. */
function tinyConfig(dir: string, steps: number, extra: Record<string, unknown> = {}) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", prompt_format: "raw" },
      training: { batch_size: 8, learning_rate: 1e-3, steps, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 10, max_prompt_tokens: 24, filter_zero_variance: false, max_policy_age: 1 },
      rewards: ["math"],
      checkpoint: { folder: "${output_dir}/ckpt", interval: 2 },
      ...extra,
    },
  });
}

/** Timings differ run to run; everything else must be equal. */
const deterministic = (r: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(r).filter(([k]) => k !== "time" && !k.startsWith("main_perf/") && !k.endsWith("_per_s")));

function weights(dir: string, step: number): Map<string, Buffer> {
  const model = join(dir, "ckpt", `step-${step}`, "model");
  return new Map(readdirSync(model).filter((f) => f.endsWith(".safetensors")).map((f) => [f, readFileSync(join(model, f))]));
}

function tensorboardSteps(dir: string): number[] {
  const tb = join(dir, "tensorboard");
  return readdirSync(tb)
    .flatMap((f) => decodeTfRecords(readFileSync(join(tb, f))).map((r) => decodeEvent(r)))
    .filter((e) => e.scalars.length > 0)
    .map((e) => e.step)
    .sort((a, b) => a - b);
}

/** Runs 4 steps straight, and 3 steps + a "crash" back to the step-2 checkpoint + a resume to 4; compares. */
async function crashResumeMatchesStraight(extra: Record<string, unknown> = {}) {
  const quiet = { log: () => undefined, progress: false };
  const straight = mkdtempSync(join(tmpdir(), "tf-resume-a-"));
  const a = tinyConfig(straight, 4, extra);
  await runGrpo({ config: a.config, rawConfig: a.snake, ...quiet });

  // The "crash": step 3 was trained and logged, but the last checkpoint is step 2.
  const crashed = mkdtempSync(join(tmpdir(), "tf-resume-b-"));
  const b1 = tinyConfig(crashed, 3, extra);
  await runGrpo({ config: b1.config, rawConfig: b1.snake, ...quiet });
  rmSync(join(crashed, "ckpt", "step-3"), { recursive: true });
  writeFileSync(join(crashed, "ckpt", "latest"), "step-2\n");
  assert.deepEqual(readMetricsJsonl(join(crashed, "metrics.jsonl")).map((r) => r.step), [1, 2, 3]);

  const lines: string[] = [];
  const b2 = tinyConfig(crashed, 4, extra);
  await runGrpo({ config: b2.config, rawConfig: b2.snake, resume: true, progress: false, log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /^resume: dropped 1 metrics rows and 1 TensorBoard events of steps after 2/.test(l)), lines.join("\n"));

  const rowsA = readMetricsJsonl(join(straight, "metrics.jsonl"));
  const rowsB = readMetricsJsonl(join(crashed, "metrics.jsonl"));
  assert.deepEqual(rowsB.map((r) => r.step), [1, 2, 3, 4], "each step once in the JSONL (and so on the dashboard)");
  assert.deepEqual(tensorboardSteps(crashed), [1, 2, 3, 4], "each step once in TensorBoard");
  assert.deepEqual(rowsB.map(deterministic), rowsA.map(deterministic));
  const [wa, wb] = [weights(straight, 4), weights(crashed, 4)];
  assert.ok(wa.size > 0);
  assert.deepEqual([...wb.keys()], [...wa.keys()]);
  for (const [f, bytes] of wa) assert.ok(bytes.equals(wb.get(f)!), `${f} differs between the resumed and the uninterrupted run`);
}

test("colocated resume after a crash is exact and logs each step once: weights and every metric equal the uninterrupted run", async () => {
  await crashResumeMatchesStraight();
});

test("separate placement with overlap_rollouts: false resumes exactly too (seeded rollouts, whichever of 2 replicas serves them)", async () => {
  await crashResumeMatchesStraight({
    placement: "separate",
    services: { generator: { procs: 1, num_replicas: 2 }, trainer: { procs: 1 } },
    grpo: { n_samples: 4, beta: 0, max_new_tokens: 10, max_prompt_tokens: 24, filter_zero_variance: false, max_policy_age: 1, overlap_rollouts: false },
  });
});
