// GradReducer across real Gloo processes: the gradients after a pass are the sum of every rank's
// local gradients (accumulated over a no-sync micro-batch and a synced one), a parameter only
// one rank uses neither hangs nor is lost, and a rank that exits fails finish() with a
// DistributedError instead of a hang.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lastJson, runRanks } from "./distributed-spawn.ts";

const WORKER = "tests/torch/fixtures/reducer-worker.ts";
type Grads = (number[] | null)[];
interface Out {
  rank: number;
  names: string[];
  local: Grads;
  reduced: Grads;
  report: { launchedInBackward: number; bucketCount: number; locallyUnused: string[]; globallyUnused: string[]; lateBuckets: number[] };
  buckets: string[][];
}

test("2 ranks: reduced gradients = the sum of both ranks' local ones; buckets start inside backward", async () => {
  const ranks = await runRanks(WORKER, 2);
  for (const r of ranks) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stdout}\n${r.stderr}`);
  const outs = ranks.map((r) => lastJson(r) as unknown as Out);
  const names = outs[0]!.names;
  for (const out of outs) {
    names.forEach((name, i) => {
      const parts = outs.map((o) => o.local[i]);
      if (parts.every((g) => g === null)) {
        assert.equal(out.reduced[i], null, `${name}: no rank had a gradient, so none after the pass`);
        return;
      }
      const len = parts.find((g) => g !== null)!.length;
      const expected = Array.from({ length: len }, (_, j) => parts.reduce((s, g) => s + (g?.[j] ?? 0), 0));
      const got = out.reduced[i]!;
      assert.ok(got !== null, `rank ${out.rank} ${name} has a gradient`);
      got.forEach((x, j) => assert.ok(Math.abs(x - expected[j]!) < 1e-5, `rank ${out.rank} ${name}[${j}]: ${x} vs ${expected[j]}`));
    });
    assert.deepEqual(out.report.globallyUnused, ["never"]);
    assert.equal(out.report.bucketCount, out.buckets.length);
    assert.deepEqual(out.buckets.flat().sort(), [...names].sort());
    assert.equal(out.buckets[0]![0], "w3", "the last registered parameter's bucket starts first");
  }
  // Rank 1 never uses onlyRank0; rank 0 does. Both still finish, and w3..w1's buckets start in backward.
  assert.deepEqual(outs[1]!.report.locallyUnused, ["onlyRank0", "never"]);
  assert.deepEqual(outs[0]!.report.locallyUnused, ["never"]);
  for (const out of outs) assert.ok(out.report.launchedInBackward >= 3, `rank ${out.rank} started ${out.report.launchedInBackward} buckets in backward`);
  assert.ok(outs[0]!.local[0] !== null && outs[1]!.local[0] === null, "onlyRank0 really is used by rank 0 alone");
});

test("a rank that exits makes the other's finish() fail with a DistributedError, not hang", async () => {
  const ranks = await runRanks(WORKER, 2, { MODE: "die", TIMEOUT_MS: "30000" });
  assert.equal(ranks[1]!.code, 3);
  const out = lastJson(ranks[0]!);
  assert.equal(out.name, "DistributedError");
  assert.match(String(out.error), /gradient all-reduce on rank 0 of 2 failed \(a peer rank exited, or it timed out after 30000 ms\)/);
  assert.ok(Number(out.ms) < 25_000, `failed after ${out.ms} ms; the peer's exit should be noticed before the timeout`);
});
