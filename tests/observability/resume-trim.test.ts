import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonlBackend, TensorBoardBackend, createRunBackends, decodeEvent, decodeTfRecords, readMetricsJsonl, trimRunLogs } from "../../src/observability/index.ts";

function tbSteps(dir: string): number[] {
  return readdirSync(dir).flatMap((f) => decodeTfRecords(readFileSync(join(dir, f))).map((r) => decodeEvent(r)).filter((e) => e.scalars.length > 0).map((e) => e.step));
}

/** A "crashed" run: steps 1..5 logged, with a torn last line / record. */
function crashedRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "tf-trim-"));
  const jsonl = new JsonlBackend({ path: join(dir, "metrics.jsonl") });
  const tb = new TensorBoardBackend({ logDir: join(dir, "tensorboard") });
  for (let step = 1; step <= 5; step++) {
    jsonl.log(step, { "loss/value": step / 10 });
    tb.log(step, { "loss/value": step / 10 });
  }
  jsonl.close();
  tb.close();
  appendFileSync(join(dir, "metrics.jsonl"), '{"step": 6, "loss/va');
  appendFileSync(tb.path, Buffer.from([1, 2, 3])); // a record cut mid-header
  writeFileSync(join(dir, "samples.jsonl"), [2, 4, 5].map((step) => JSON.stringify({ step, title: "t", reward: 1, spans: [] })).join("\n") + "\n");
  return dir;
}

test("trimRunLogs drops records after the resumed step (and torn ones) from JSONL, samples and TensorBoard", () => {
  const dir = crashedRun();
  const trimmed = trimRunLogs({ afterStep: 3, jsonlPath: join(dir, "metrics.jsonl"), samplesPath: join(dir, "samples.jsonl"), tensorboardDir: join(dir, "tensorboard") });
  assert.deepEqual(trimmed, { metrics: 3, samples: 2, tensorboard: 3 });
  assert.deepEqual(readMetricsJsonl(join(dir, "metrics.jsonl")).map((r) => r.step), [1, 2, 3]);
  assert.deepEqual(readFileSync(join(dir, "samples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).step), [2]);
  assert.deepEqual(tbSteps(join(dir, "tensorboard")), [1, 2, 3], "the file still decodes: header kept, torn record gone");
  assert.deepEqual(trimRunLogs({ afterStep: 3, jsonlPath: join(dir, "metrics.jsonl") }), { metrics: 0, samples: 0, tensorboard: 0 }, "idempotent");
  assert.throws(() => trimRunLogs({ afterStep: -1 }), /'afterStep' must be an integer >= 0; got -1/);
});

test("createRunBackends with resumeStep: each step logged once, the ETA counts from the resumed step", async () => {
  const dir = crashedRun();
  let now = 0;
  const out: string[] = [];
  const run = createRunBackends({
    dir,
    totalSteps: 10,
    resumeStep: 3,
    dashboardEvery: 1,
    console: { stream: { write: (t: string) => out.push(t) }, tty: false, now: () => now },
  });
  assert.deepEqual(run.trimmed, { metrics: 3, samples: 2, tensorboard: 3 });
  for (const step of [4, 5]) {
    now += 2000; // 2 s per step in this session
    for (const b of run.backends) await b.log(step, { "loss/value": step });
  }
  for (const b of run.backends) await b.close?.();
  assert.deepEqual(readMetricsJsonl(run.jsonlPath).map((r) => r.step), [1, 2, 3, 4, 5]);
  assert.deepEqual(tbSteps(run.tensorboardDir!).sort(), [1, 2, 3, 4, 5]);
  // 2 steps in 4 s since the resume at step 3: 2.00 s/step, 5 steps left → 10 s (not 4 s / 5 steps).
  assert.match(out.at(-1)!, /^step 5\/10 .* 2\.00s\/step ETA 10s/);
});
