import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MemoryBackend,
  MetricError,
  MetricLogger,
  addMetricSource,
  recordMetric,
  removeMetricSource,
  type MetricSource,
  type MetricState,
} from "../../src/observability/index.ts";

describe("recordMetric and MetricLogger", () => {
  it("reduces in one process", async () => {
    const memory = new MemoryBackend();
    const logger = new MetricLogger({ backends: [memory] });
    for (const v of [1, 2, 3, 4]) {
      recordMetric("m/mean", v);
      recordMetric("m/std", v, "std");
    }
    const out = await logger.flush(3);
    assert.equal(out["m/mean"], 2.5);
    assert.ok(Math.abs((out["m/std"] as number) - Math.sqrt(1.25)) < 1e-12);
    assert.deepEqual(memory.logs.map((l) => l.step), [3]);
    assert.deepEqual(await logger.flush(4), {}, "a flush drains");
    assert.throws(() => recordMetric("m/x", 1, "bogus" as "sum"), MetricError);
    recordMetric("m/x", 1, "sum");
    assert.throws(() => recordMetric("m/x", 1, "max"), /differs from earlier 'sum'/);
    assert.throws(() => recordMetric("m/y", Number.NaN), /must be a number/);
    await logger.flush(5);
  });


  it("pulls registered metric sources (the hook the actor runtime uses) and merges them exactly", async () => {
    const memory = new MemoryBackend();
    const logger = new MetricLogger({ backends: [memory] });
    const remote: MetricState = { key: "m/mean", reduce: "mean", count: 2, sum: 10, sumSq: 52, max: 6, min: 4, samples: [] };
    let asked = 0;
    const source: MetricSource = {
      async drainMetrics(timeoutMs) {
        asked++;
        assert.equal(timeoutMs, 123);
        return asked === 1 ? [remote] : [];
      },
    };
    const slow = new MetricLogger({ collectTimeoutMs: 123 });
    addMetricSource(source);
    try {
      recordMetric("m/mean", 1);
      const out = await slow.flush(1);
      assert.equal(out["m/mean"], (1 + 10) / 3, "local and source states merge by sums");
      assert.equal(asked, 1);
    } finally {
      removeMetricSource(source);
    }
    recordMetric("m/mean", 2);
    assert.deepEqual(await logger.flush(2), { "m/mean": 2 }, "a removed source is not asked again");
    assert.equal(asked, 1);
    assert.deepEqual(memory.logs, [{ step: 2, metrics: { "m/mean": 2 } }]);
  });
});
