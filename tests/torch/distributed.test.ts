// c10d through the addon: TCPStore rendezvous and Gloo collectives across real processes, with
// expected values computed here from each rank's inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { distributed } from "../../src/torch/index.ts";
import { lastJson, runRanks } from "./distributed-spawn.ts";

const WORKER = "tests/torch/fixtures/dist-worker.ts";

for (const n of [2, 3]) {
  test(`Gloo collectives across ${n} processes`, async () => {
    const results = await runRanks(WORKER, n);
    for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code ?? r.signal}: ${r.stderr}`);
    const ranks = [...Array(n).keys()];
    for (const r of results) {
      const out = lastJson(r);
      assert.equal(out.rank, r.rank);
      assert.deepEqual(out.sum, [ranks.reduce((s, i) => s + i + 1, 0), ranks.reduce((s, i) => s + 10 * (i + 1), 0)]);
      assert.deepEqual(out.avg, [ranks.reduce((s, i) => s + i + 1, 0) / n, 2]);
      assert.deepEqual(out.max, [n - 1, 0]);
      assert.deepEqual(out.broadcast, [7, 7, 7]);
      assert.deepEqual(out.allGather, ranks.map((i) => [i, i * i]));
      // reduceScatter: this rank's slot r holds Σ_i (r·100 + i) and Σ 1.
      assert.deepEqual(out.reduceScatter, [ranks.reduce((s, i) => s + r.rank * 100 + i, 0), n]);
      assert.deepEqual(out.inflight, [ranks.reduce((s, i) => s + i + 1, 0), ranks.reduce((s, i) => s + 2 * (i + 1), 0)]);
      assert.equal(out.storeGet, `v${(r.rank + 1) % n}`);
      assert.equal(out.counter, true);
    }
  });
}

test("a rank that exits makes the others' collective fail with a DistributedError, not hang", async () => {
  const results = await runRanks(WORKER, 2, { MODE: "die", TIMEOUT_MS: "30000" });
  assert.equal(results[1]!.code, 3);
  const out = lastJson(results[0]!);
  assert.equal(out.name, "DistributedError");
  assert.match(String(out.error), /allReduce\(sum\) on rank 0 of 2 failed/);
  assert.ok(Number(out.ms) < 25_000, `failed after ${out.ms} ms; the peer's exit should be noticed before the timeout`);
});

test("torchrun environment: defaults for one process, clear errors naming the variable", () => {
  assert.deepEqual(distributed.readTorchrunEnv({}), { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: "127.0.0.1", masterPort: 29500 });
  assert.deepEqual(distributed.readTorchrunEnv({ RANK: "3", WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", MASTER_ADDR: "node1", MASTER_PORT: "1234" }), {
    rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: "node1", masterPort: 1234,
  });
  assert.throws(() => distributed.readTorchrunEnv({ WORLD_SIZE: "2", MASTER_PORT: "1" }), /RANK is not set/);
  assert.throws(() => distributed.readTorchrunEnv({ WORLD_SIZE: "two" }), /WORLD_SIZE="two": expected an integer/);
  assert.throws(() => distributed.readTorchrunEnv({ RANK: "2", WORLD_SIZE: "2", MASTER_PORT: "1" }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => distributed.readTorchrunEnv({ RANK: "0", WORLD_SIZE: "2" }), /MASTER_PORT is not set/);
});

test("a single-rank group works without peers; bad arguments are named", () => {
  // Built without NCCL here; an NCCL build is checked in device.test.ts.
  if (!distributed.ncclAvailable()) assert.throws(() => distributed.initProcessGroup({ backend: "nccl" }), /nccl.*not built/);
  assert.throws(() => distributed.initProcessGroup({ rank: 2, worldSize: 2, masterPort: 1 }), /rank must be an integer in \[0, 2\)/);
});
