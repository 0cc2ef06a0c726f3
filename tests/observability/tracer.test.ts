import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBackend, MetricLogger, Tracer, tracer } from "../../src/observability/index.ts";

test("span records main_perf/<name>_s on dispose (using), once, with the elapsed seconds", () => {
  let now = 1000;
  const got: [string, number, string][] = [];
  const t = new Tracer({ now: () => now, record: (k, v, r) => got.push([k, v, r]) });
  {
    using _span = t.span("generate");
    now += 1500;
  }
  const s = t.span("train/step");
  now += 250;
  assert.equal(s.end(), 0.25);
  s.end(); // second end records nothing
  assert.deepEqual(got, [["main_perf/generate_s", 1.5, "mean"], ["main_perf/train/step_s", 0.25, "mean"]]);
  assert.throws(() => t.span(""), /'name' must be a non-empty string/);
});

test("time() records async phases, also when they throw", async () => {
  let now = 0;
  const got: [string, number][] = [];
  const t = new Tracer({ prefix: "perf", reduce: "sum", now: () => now, record: (k, v) => got.push([k, v]) });
  const v = await t.time("rewards", async () => {
    now += 40;
    return 7;
  });
  assert.equal(v, 7);
  await assert.rejects(t.time("bad", () => {
    now += 10;
    throw new Error("x");
  }), /x/);
  assert.deepEqual(got, [["perf/rewards_s", 0.04], ["perf/bad_s", 0.01]]);
});

test("the default tracer reaches MetricLogger through recordMetric", async () => {
  const mem = new MemoryBackend();
  const logger = new MetricLogger({ backends: [mem] });
  {
    using _a = tracer.span("generate");
  }
  {
    using _b = tracer.span("generate");
  }
  await logger.flush(1);
  const v = mem.logs[0]!.metrics["main_perf/generate_s"];
  assert.equal(typeof v, "number");
  assert.ok((v as number) >= 0 && (v as number) < 1);
});
