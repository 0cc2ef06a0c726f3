// Data-parallel steps with gradients reduced during backward on the models where that is
// hardest: a parameter some ranks or micro-batches skip and one nobody uses, LoRA adapters over
// a frozen base, and tied embeddings under activation checkpointing (the embedding's gradient is
// accumulated in two backward calls, after its bucket may have started). Each must equal one
// process on the whole batch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { EPISODES, STEPS, WORKER, assertMatches, both, maxDiff, singleProcess, type Params } from "./dp-harness.ts";
import { lastJson, runRanks, type RankResult } from "../torch/distributed-spawn.ts";

torch.setNumThreads(1);

test("a parameter some ranks or micro-batches do not use, and one none uses: same step as one process, no hang", async () => {
  const ref = singleProcess("branchy");
  // The data really has the cases: a step where one rank never takes the branch while the other
  // does, and one where a rank takes it only in its first (unsynced) micro-batch.
  const perRank = ref.branches.map((s) => [s.slice(0, 2), s.slice(2, 4)]);
  assert.ok(perRank.some(([r0, r1]) => r0!.some(Boolean) !== r1!.some(Boolean)), `branch use per step and rank: ${JSON.stringify(perRank)}`);
  assert.ok(perRank.some((rs) => rs.some(([first, last]) => first && !last)), `branch use per step and rank: ${JSON.stringify(perRank)}`);
  const { overlapped, after } = await both("branchy", { BUCKET_BYTES: "256" });
  const a = assertMatches(overlapped, ref, "overlapped");
  const b = assertMatches(after, ref, "after backward");
  assert.equal(maxDiff(a, b), 0);
  const unused = (ranks: RankResult[]) => (lastJson(ranks[0]!) as { params: Params }).params["unused.weight"];
  assert.deepEqual(unused(overlapped), ref.params["unused.weight"], "the parameter no rank uses is left as it was (no gradient, no decay)");
});

// SGD here: AdamW divides by √v, which turns float32 rounding of near-zero gradients (the
// summation order differs between 1 and 2 processes) into weight differences up to ±lr.
const run = (model: string, bucketBytes: number) =>
  runRanks(WORKER, 2, { STEPS: String(STEPS), EPISODES: String(EPISODES), MODEL: model, OPT: "sgd", BUCKET_BYTES: String(bucketBytes) });

test("LoRA adapters over a frozen base: overlapped 2 ranks = 1 process; the base stays bit-identical", async () => {
  assertMatches(await run("lora", 2048), singleProcess("lora", "sgd"), "LoRA overlapped");
});

test("tied embeddings under activation checkpointing (a gradient in two backward calls): overlapped 2 ranks = 1 process", async () => {
  assertMatches(await run("tied-ckpt", 4096), singleProcess("tied-ckpt", "sgd"), "tied + checkpointing overlapped");
});
