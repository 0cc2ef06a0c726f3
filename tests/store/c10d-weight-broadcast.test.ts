// C10dWeightBroadcaster across real processes (Gloo over loopback): received weights equal the
// sent ones byte for byte, and a peer that differs or dies fails the transfer with a clear error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type RankResult, runRanks } from "../torch/distributed-spawn.ts";

const WORKER = "tests/store/fixtures/broadcast-worker.ts";

const lines = (r: RankResult) =>
  r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, any>);

test("a state dict broadcast from rank 0 arrives whole in 2 receiver processes, version after version", async () => {
  const results = await runRanks(WORKER, 3);
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code ?? r.signal}: ${r.stderr}`);
  const sent = lines(results[0]!);
  assert.deepEqual(
    sent.map((l) => l.version),
    [3, 4],
  );
  assert.notEqual(sent[0]!.crc, sent[1]!.crc, "the two versions differ");
  // 1 header + embed and mlp alone + 2 buckets (attn, norms, count, mask | lm_head).
  assert.equal(sent[0]!.collectives, 5);
  for (const r of results.slice(1)) {
    const got = lines(r);
    assert.deepEqual(
      got.map((l) => [l.version, l.crc]),
      sent.map((l) => [l.version, l.crc]),
      `rank ${r.rank} holds what rank 0 sent`,
    );
  }
});

test("a receiver with another layout is told which tensor differs; the sender fails instead of hanging", async () => {
  const results = await runRanks(WORKER, 2, { MODE: "mismatch", TIMEOUT_MS: "20000" });
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code ?? r.signal}: ${r.stderr}`);
  const [recv] = lines(results[1]!);
  assert.equal(recv!.name, "WeightBroadcastError");
  assert.match(recv!.error, /layout differs from the src rank's at entry 8: src has \["lm_head.weight","float32",\[32,64\]\], this rank \["lm_head.weight","float32",\[64,32\]\]/);
  const [send] = lines(results[0]!);
  assert.equal(send!.name, "WeightBroadcastError");
  assert.match(send!.error, /publish\(v3\) on rank 0 failed/);
  assert.ok(send!.ms < 20_000, `sender failed after ${send!.ms} ms`);
});

test("a receiver that exits makes the next publish fail with WeightBroadcastError well before the timeout", async () => {
  const results = await runRanks(WORKER, 2, { MODE: "die", TIMEOUT_MS: "30000" });
  assert.equal(results[1]!.code, 3);
  const out = lines(results[0]!);
  assert.equal(out[0]!.version, 3);
  assert.equal(out[1]!.name, "WeightBroadcastError");
  assert.match(out[1]!.error, /publish\(v4\) on rank 0 failed: .*a peer rank exited, or it timed out after 30000 ms/);
  assert.ok(out[1]!.ms < 25_000, `noticed after ${out[1]!.ms} ms`);
});
