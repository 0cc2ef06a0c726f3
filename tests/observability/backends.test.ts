import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  JsonlBackend, readMetricsJsonl, ProgressConsoleBackend, createRunBackends, formatDuration, MetricLogger, recordMetric,
} from "../../src/observability/index.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "tf-obs-"));

test("JSONL: one object per flush, appended, readable after each log (no buffering); NaN → null; samples opt-in", () => {
  const dir = tmp();
  const path = join(dir, "run", "metrics.jsonl");
  const a = new JsonlBackend({ path, now: () => 100 });
  a.log(1, { "reward/mean": 0.5, "loss/value": NaN, "generator/samples": ["x"] });
  assert.deepEqual(readMetricsJsonl(path), [{ step: 1, time: 100, "reward/mean": 0.5, "loss/value": null }], "visible before close");
  a.close();
  const b = new JsonlBackend({ path, includeSamples: true, now: () => 101 }); // a resumed run appends
  b.log(2, { "reward/mean": 0.75, "generator/samples": ["y"] });
  b.close();
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[1]!), { step: 2, time: 101, "reward/mean": 0.75, "generator/samples": ["y"] });
  appendFileSync(path, '{"step": 3, "reward/me'); // a torn last line is ignored by the reader
  assert.deepEqual(readMetricsJsonl(path).map((r) => r.step), [1, 2]);
  assert.throws(() => b.log(3, {}), /after close/);
  rmSync(dir, { recursive: true, force: true });
});

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => out.push(s) } };
}

test("console (non-TTY): plain lines with step, bar, pace, ETA and the chosen metrics", () => {
  let now = 0;
  const { out, stream } = fakeStream(false);
  const c = new ProgressConsoleBackend({ totalSteps: 10, stream, now: () => now, barWidth: 10, keys: ["reward/mean", "loss/value", "trainer/lr"] });
  now = 2000;
  c.log(1, { "loss/value": 0.123456, "reward/mean": 0.5, "trainer/lr": 1e-5, "generator/samples": [1] });
  now = 8000;
  c.log(4, { "reward/mean": 0.625 });
  c.close();
  assert.deepEqual(out, [
    "step 1/10 [#.........]  10% | reward/mean=0.5 loss/value=0.1235 trainer/lr=1.00e-5\n",
    "step 4/10 [####......]  40% 2.00s/step ETA 12s | reward/mean=0.625\n",
  ]);
  const plain = new ProgressConsoleBackend({ stream, keys: ["a"], now: () => 0 });
  assert.equal(plain.format(3, { a: 1, b: 2 }), "step 3 | a=1");
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3725), "1h02m");
  assert.throws(() => new ProgressConsoleBackend({ totalSteps: 0 }), /'totalSteps' must be an integer > 0/);
});

test("console default line: reward, accuracy once known, KL, grad norm, lr and the phase split; ETA ignores startup", () => {
  let now = 0;
  const c = new ProgressConsoleBackend({ totalSteps: 100, stream: fakeStream(false).stream, now: () => now, barWidth: 4 });
  const step = (extra: Record<string, number> = {}) => ({
    "reward/mean": 0.52, "loss/kl_ref": 0.0012, "trainer/grad_norm": 0.83, "trainer/lr": 1e-5, "loss/value": 0.3,
    "main_perf/generate_s": 0.8, "main_perf/train_step_s": 0.3, "main_perf/weight_sync_s": 0.1, "main_perf/score_s": 0.05, "main_perf/step_s": 1.25, ...extra,
  });
  now = 60_000; // a minute of startup (model load, first eval) before the first flush
  assert.equal(
    c.format(0, step({ "eval/accuracy": 0.41 })),
    "step 0/100 [....]   0% 1.25s/step ETA 2m05s | reward 0.52 acc 41.0% kl 0.0012 gnorm 0.83 lr 1.00e-5 | gen 0.80s train 0.30s sync 0.10s",
  );
  now = 62_000;
  // Pace from the first flush (2 s / step), not from construction (62 s / 1 step); accuracy stays known.
  assert.equal(c.format(1, step()), "step 1/100 [....]   1% 2.00s/step ETA 3m18s | reward 0.52 acc 41.0% kl 0.0012 gnorm 0.83 lr 1.00e-5 | gen 0.80s train 0.30s sync 0.10s");
  // No reward (SFT): the loss takes its place; no accuracy until an eval.
  const sft = new ProgressConsoleBackend({ stream: fakeStream(false).stream, now: () => 0 });
  assert.equal(sft.format(5, { "loss/value": 1.5, "trainer/lr": 2e-5, "trainer/grad_norm": 4 }), "step 5 | loss 1.5 gnorm 4 lr 2.00e-5");
});

test("console (TTY): one line redrawn in place, newline on close", () => {
  const { out, stream } = fakeStream(true);
  const c = new ProgressConsoleBackend({ totalSteps: 4, stream, now: () => 0 });
  c.log(1, { x: 1 });
  c.log(2, { x: 2 });
  c.close();
  assert.equal(out.length, 3);
  assert.ok(out[0]!.startsWith("\r\x1b[2Kstep 1/4 [") && !out[0]!.includes("\n"));
  assert.ok(out[1]!.startsWith("\r\x1b[2Kstep 2/4 ["));
  assert.equal(out[2], "\n");
});

// The dashboard page and backend are tested in dashboard.test.ts.

test("createRunBackends wires JSONL, TensorBoard, dashboard and console under one run directory via MetricLogger", async () => {
  const dir = tmp();
  const lines: string[] = [];
  const run = createRunBackends({ dir, totalSteps: 3, dashboardEvery: 1, console: { stream: { write: (s: string) => lines.push(s) } } });
  const logger = new MetricLogger({ backends: run.backends });
  for (let step = 1; step <= 3; step++) {
    recordMetric("reward/mean", step / 10);
    recordMetric("reward/mean", step / 10 + 0.1);
    await logger.flush(step);
  }
  await logger.close();
  const rewards = readMetricsJsonl(run.jsonlPath).map((r) => r["reward/mean"] as number);
  assert.deepEqual(rewards.map((x) => +x.toFixed(9)), [0.15, 0.25, 0.35], "mean of the two values per flush");
  assert.ok(readFileSync(run.dashboardPath!, "utf8").includes("reward/mean"));
  assert.equal(readdirSync(run.tensorboardDir!).length, 1);
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /^step 3\/3 \[#+\] 100%/);
  rmSync(dir, { recursive: true, force: true });
});
