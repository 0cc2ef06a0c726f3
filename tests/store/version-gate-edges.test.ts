// VersionGate edges: version arguments (0 allowed, negatives and fractions refused), a request at
// a token boundary during an update waits for the new weights and counts as in flight again,
// and the update's timings add up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StoreArgumentError, VersionGate } from "../../src/store/index.ts";

const badVersion = (e: unknown) => e instanceof StoreArgumentError && e.argument === "version";

test("version arguments: non-negative integers, 0 included", async () => {
  assert.equal(new VersionGate().version, 0);
  assert.equal(new VersionGate(3).version, 3);
  for (const v of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new VersionGate(v), badVersion, `constructor ${v}`);
    assert.throws(() => new VersionGate(2).update(v, () => {}), badVersion, `update ${v}`);
  }
  const gate = new VersionGate(5);
  const timing = await gate.update(0, () => {});
  assert.equal(gate.version, 0);
  assert.equal(timing.version, 0);
});

test("a request at a boundary during an update waits for the new version and is in flight again after it", async () => {
  const gate = new VersionGate(1);
  let loaded = false;
  let releaseLoad!: () => void;
  const seen: { version: number; loaded: boolean; inFlight: number }[] = [];
  let step!: () => void;
  const atBoundary = new Promise<void>((r) => (step = r));
  const request = gate.run(async (v) => {
    seen.push({ version: v, loaded, inFlight: gate.inFlight });
    await atBoundary;
    const next = await gate.boundary();
    seen.push({ version: next, loaded, inFlight: gate.inFlight });
    return next;
  });
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const update = gate.update(2, () => new Promise<void>((r) => (releaseLoad = () => ((loaded = true), r()))));
  step(); // the request reaches its boundary while the update waits to drain
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(gate.paused, true);
  assert.equal(gate.inFlight, 0, "the request stepped aside");
  releaseLoad();
  const timing = await update;
  const wall = performance.now() - t0;
  assert.equal(await request, 2);
  assert.deepEqual(seen, [
    { version: 1, loaded: false, inFlight: 1 },
    { version: 2, loaded: true, inFlight: 1 },
  ]);
  assert.equal(gate.inFlight, 0);
  assert.ok(Math.abs(timing.pausedMs - (timing.drainMs + timing.loadMs)) < 1e-6, JSON.stringify(timing));
  assert.ok(timing.pausedMs >= 0 && timing.pausedMs <= wall + 1, `pausedMs ${timing.pausedMs} within ${wall} ms`);
  // Not paused: a boundary is a no-op.
  assert.equal(await gate.run(() => gate.boundary()), 2);
  assert.equal(gate.inFlight, 0);
});

test("an update waits for the LAST request in flight to leave, not the first", async () => {
  const gate = new VersionGate(1);
  const release: (() => void)[] = [];
  const requests = [0, 1].map(() => gate.run(() => new Promise<void>((r) => release.push(r))));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(gate.inFlight, 2);
  let loadedWith = -1;
  const update = gate.update(2, () => void (loadedWith = gate.inFlight));
  release[0]!();
  await requests[0];
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(loadedWith, -1, "one request still runs on the old weights: no load yet");
  release[1]!();
  await requests[1];
  await update;
  assert.equal(loadedWith, 0, "loaded once nothing was in flight");
  assert.equal(gate.version, 2);
});
