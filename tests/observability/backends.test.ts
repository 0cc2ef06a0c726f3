import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  JsonlBackend, readMetricsJsonl, ProgressConsoleBackend, DashboardBackend, renderDashboard, createRunBackends, formatDuration,
  MetricLogger, recordMetric, type MetricRecord,
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
  const c = new ProgressConsoleBackend({ totalSteps: 10, stream, now: () => now, barWidth: 10 });
  now = 2000;
  c.log(1, { "loss/value": 0.123456, "reward/mean": 0.5, "trainer/lr": 1e-5, "generator/samples": [1] });
  now = 8000;
  c.log(4, { "reward/mean": 0.625 });
  c.close();
  assert.deepEqual(out, [
    "step 1/10 [#.........]  10% 2.00s/step ETA 18s | reward/mean=0.5 loss/value=0.1235 trainer/lr=1.00e-5\n",
    "step 4/10 [####......]  40% 2.00s/step ETA 12s | reward/mean=0.625\n",
  ]);
  const plain = new ProgressConsoleBackend({ stream, keys: ["a"], now: () => 0 });
  assert.equal(plain.format(3, { a: 1, b: 2 }), "step 3 0.00s/step | a=1");
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3725), "1h02m");
  assert.throws(() => new ProgressConsoleBackend({ totalSteps: 0 }), /'totalSteps' must be an integer > 0/);
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

function records(n: number): MetricRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    step: i + 1,
    "reward/mean": i / n,
    "eval/accuracy": 0.2 + i / (2 * n),
    "loss/value": 1 / (i + 1),
    "loss/kl_ref": 0.01 * i,
    "loss/entropy": 2 - i / n,
    "loss/clip_fraction": 0.1,
    "generator/response_length": 20 + i,
    "trainer/tokens_per_s": 1000 + i,
    "main_perf/generate_s": 1.5,
    "main_perf/train_step_s": 0.5,
    "buffer/size": i,
    "weird<key>": 1,
  }));
}

test("dashboard: valid self-contained HTML with every series, grouped into the standard charts", () => {
  const html = renderDashboard(records(5), { title: "run <1>", generatedAt: new Date(0) });
  assert.ok(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">"));
  assert.ok(html.trimEnd().endsWith("</html>"));
  for (const tag of ["html", "head", "body", "title", "style", "svg", "section", "script", "ul", "h2"]) {
    const open = html.match(new RegExp(`<${tag}[\\s>]`, "g"))?.length ?? 0;
    const close = html.match(new RegExp(`</${tag}>`, "g"))?.length ?? 0;
    assert.equal(open, close, `<${tag}> opened ${open} times, closed ${close}`);
  }
  assert.ok(!/https?:\/\//.test(html) && !/\bsrc=/.test(html), "no network references");
  for (const t of ["Reward", "Accuracy", "Loss", "KL", "Entropy", "Clip fraction", "Response length", "Tokens/s", "Time per phase (s)", "buffer"]) {
    assert.ok(html.includes(`<h2>${t}</h2>`), `section ${t}`);
  }
  for (const k of ["reward/mean", "eval/accuracy", "loss/kl_ref", "main_perf/generate_s", "trainer/tokens_per_s"]) assert.ok(html.includes(`>${k} <b>`), `legend ${k}`);
  assert.ok(html.includes("run &lt;1&gt;") && html.includes("weird&lt;key&gt;") && !html.includes("weird<key>"), "escaped");
  const data = JSON.parse(/<script id="metrics-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  assert.deepEqual(data["reward/mean"], [[1, 0], [2, 0.2], [3, 0.4], [4, 0.6], [5, 0.8]]);
  assert.equal((html.match(/<polyline /g) ?? []).length, 12, "one line per numeric series");
  const empty = renderDashboard([]);
  assert.ok(empty.includes("no metrics yet"));
});

test("dashboard backend regenerates atomically from the JSONL every N flushes and on close", () => {
  const dir = tmp();
  const jsonlPath = join(dir, "metrics.jsonl");
  const path = join(dir, "dashboard.html");
  const jsonl = new JsonlBackend({ path: jsonlPath });
  const dash = new DashboardBackend({ path, jsonlPath, every: 2 });
  jsonl.log(1, { "reward/mean": 0.1 });
  dash.log(1, { "reward/mean": 0.1 });
  assert.equal(existsSync(path), false, "not yet: every 2 flushes");
  dash.log(2, { "reward/mean": 0.2 }); // before the JSONL has step 2: merged in
  jsonl.log(2, { "reward/mean": 0.2 });
  const data = () => JSON.parse(/<script id="metrics-data" type="application\/json">(.*?)<\/script>/s.exec(readFileSync(path, "utf8"))![1]!);
  assert.deepEqual(data()["reward/mean"], [[1, 0.1], [2, 0.2]]);
  jsonl.log(3, { "reward/mean": 0.3 });
  dash.log(3, { "reward/mean": 0.3 });
  dash.close();
  jsonl.close();
  assert.deepEqual(data()["reward/mean"], [[1, 0.1], [2, 0.2], [3, 0.3]]);
  assert.deepEqual(readdirSync(dir).sort(), ["dashboard.html", "metrics.jsonl"], "no temp files left");
  rmSync(dir, { recursive: true, force: true });
});

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
