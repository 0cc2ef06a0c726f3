import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as actors from "../../src/actors/index.ts";
import { ConsoleBackend, MemoryBackend, MetricError, MetricLogger, recordMetric } from "../../src/observability/index.ts";
import { Counter } from "./fixtures/counter.ts";
import { assertNoOrphans } from "./fixtures/helpers.ts";

describe("metrics of actor processes", () => {
  it("keeps the deprecated torchforge/actors re-exports pointing at observability's", () => {
    assert.equal(actors.recordMetric, recordMetric);
    assert.equal(actors.MetricLogger, MetricLogger);
    assert.equal(actors.MetricError, MetricError);
    assert.equal(actors.ConsoleBackend, ConsoleBackend);
    assert.equal(actors.MemoryBackend, MemoryBackend);
  });


  it("collects and reduces across actor processes at flush(step)", async () => {
    const memory = new MemoryBackend();
    const lines: string[] = [];
    const logger = new MetricLogger({ backends: [memory, new ConsoleBackend((l) => lines.push(l))] });
    const mesh = await Counter.options({ procs: 2 }).asActor();
    await mesh.record.call(0); // rank 0 and 1 both record 0
    await Promise.all([mesh.record.choose(10), mesh.record.choose(20)]);
    recordMetric("counter/value", 30); // the controller records too
    const out = await logger.flush(7);
    assert.equal(out["counter/value"], (0 + 0 + 10 + 20 + 30) / 5);
    assert.equal(out["counter/total"], 30);
    assert.equal(out["counter/max"], 20);
    assert.equal(out["counter/min"], 0);
    const values = [0, 0, 10, 20];
    const mean = values.reduce((a, b) => a + b) / 4;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    assert.ok(Math.abs((out["counter/std"] as number) - std) < 1e-9);
    assert.equal((out["counter/sample"] as unknown[]).length, 4);
    assert.deepEqual(memory.logs[0]!.step, 7);
    assert.match(lines[0]!, /^step 7: counter\/max=20 .*counter\/sample=\[4 samples\]/);
    await mesh.shutdown();
    await assertNoOrphans(mesh.pids);
  });
});
