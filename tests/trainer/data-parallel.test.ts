// Data-parallel training over Gloo: N ranks on shares of a batch must take exactly the step one
// process takes on the whole batch (global token normalisation + summed gradients), whether the
// gradient buckets are all-reduced during backward (the default) or after it, and a rank that
// dies must end the others' step with an error instead of a hang. More models (unused
// parameters, LoRA, tied embeddings under checkpointing): data-parallel-cases.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { WORKER, assertMatches, both, maxDiff, singleProcess } from "./dp-harness.ts";
import { lastJson, runRanks } from "../torch/distributed-spawn.ts";

torch.setNumThreads(1);

test("2 ranks × half the batch = 1 process × the whole batch, to 1e-6, buckets reduced during and after backward (3 AdamW steps, clipping, 2 micro-batches per rank)", async () => {
  const ref = singleProcess("tiny");
  // 64-byte buckets: TinyLM's three tensors go in three buckets, started one by one in backward.
  const { overlapped, after } = await both("tiny", { BUCKET_BYTES: "64" });
  const a = assertMatches(overlapped, ref, "overlapped");
  const b = assertMatches(after, ref, "after backward");
  assert.equal(maxDiff(a, b), 0, "the two paths add the same two numbers per element");
  const report = (ranks: typeof overlapped) => lastJson(ranks[0]!).reduce as { launchedInBackward: number; bucketCount: number; locallyUnused: string[] } | null;
  const last = report(overlapped)!;
  assert.equal(last.bucketCount, 3);
  assert.equal(last.launchedInBackward, 3, "every bucket of the last step started inside backward");
  assert.deepEqual(last.locallyUnused, []);
  assert.equal(report(after), null);
});

for (const [label, env, pattern] of [
  ["at the start of a step", { KILL_AT_STEP: "1" }, /allReduce\(sum\) on rank 0 of 2 failed/],
  ["during its backward (the other rank's buckets in flight)", { KILL_IN_BACKWARD: "1" }, /gradient all-reduce on rank 0 of 2 failed \(a peer rank exited, or it timed out after 30000 ms\)/],
] as const) {
  test(`a rank killed ${label} ends the other rank's step with a DistributedError naming its rank`, async () => {
    const start = Date.now();
    const ranks = await runRanks(WORKER, 2, { STEPS: "3", ...env, BUCKET_BYTES: "64" });
    assert.equal(ranks[1]!.signal, "SIGKILL");
    assert.equal(ranks[0]!.code, 1);
    const out = lastJson(ranks[0]!);
    assert.equal(out.name, "DistributedError");
    assert.match(String(out.error), pattern);
    assert.ok(Date.now() - start < 25_000, "the failure was noticed well before the 30 s collective timeout");
  });
}
