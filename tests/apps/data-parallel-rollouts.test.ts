// The pieces of data-parallel GRPO that need no second process: each rank's share of the global
// prompt order, per-prompt seeds from global indices, lockstep rollouts and the ranks' threads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExampleSampler } from "../../src/data/index.ts";
import { ReplayBuffer, type Episode } from "../../src/rl/index.ts";
import { deriveSeed } from "../../src/generation/index.ts";
import { RankShareSampler, rankEnv } from "../../apps/shared/data-parallel.ts";
import { LockstepRollouts, NoTrainableGroupsError } from "../../apps/grpo/rollout-driver.ts";
import { promptSeeds } from "../../apps/grpo/prompt-task.ts";

const examples = Array.from({ length: 10 }, (_, i) => `p${i}`);

test("RankShareSampler: the ranks' shares, rank after rank, are the one-process order (across epochs)", () => {
  const one = new ExampleSampler({ examples, seed: 3 });
  const ranks = [0, 1, 2].map((r) => new RankShareSampler(new ExampleSampler({ examples, seed: 3 }), 2, r, 3));
  for (let draw = 0; draw < 5; draw++) {
    const global = Array.from({ length: 6 }, () => one.sample());
    const shares = ranks.flatMap((s) => [s.sample(), s.sample()]);
    assert.deepEqual(shares, global, `draw ${draw}`);
  }
});

test("promptSeeds: rank r's prompts get the seeds one process derives for the same global indices", () => {
  const one = promptSeeds(1234, 0, 6);
  assert.deepEqual(one, [0, 1, 2, 3, 4, 5].map((i) => deriveSeed(1234, i)), "rank 0 of 1 is the engine's default");
  assert.deepEqual([...promptSeeds(1234, 0, 3), ...promptSeeds(1234, 1, 3)], one);
});

const episode = (v: number): Episode => ({ policyVersion: v }) as Episode;

test("LockstepRollouts: every rank collects again while any rank is short, and keeps its extra episodes", async () => {
  const buffer = new ReplayBuffer<Episode>({ batchSize: 4 });
  const otherRankReady = [false, false, false, true]; // the other rank is short for three rounds
  const votes: boolean[] = [];
  let collects = 0;
  const driver = new LockstepRollouts(
    buffer,
    async () => (collects++, [episode(0), episode(0), episode(0)]),
    (ready) => (votes.push(ready), ready && otherRankReady[votes.length - 1]!),
  );
  const batches = await driver.nextBatch(0, 0);
  assert.deepEqual(votes, [false, false, true, true], "this rank: 0, 3, 6, 9 episodes");
  assert.equal(collects, 3, "a third rollout because the other rank was short");
  assert.equal(batches[0]!.length, 4);
  assert.equal(buffer.size, 5, "the extra episodes wait for the next step");
});

test("LockstepRollouts: rollouts that never fill a batch fail with NoTrainableGroupsError", async () => {
  const buffer = new ReplayBuffer<Episode>({ batchSize: 4 });
  const driver = new LockstepRollouts(buffer, async () => [], (ready) => ready);
  await assert.rejects(driver.nextBatch(0, 0), NoTrainableGroupsError);
});

test("rankEnv: each rank gets its share of the cores unless TORCHFORGE_NUM_THREADS is set", () => {
  assert.equal(rankEnv(2, {}, 8).TORCHFORGE_NUM_THREADS, "4");
  assert.equal(rankEnv(4, {}, 2).TORCHFORGE_NUM_THREADS, "1");
  assert.equal(rankEnv(2, { TORCHFORGE_NUM_THREADS: "3" }, 8).TORCHFORGE_NUM_THREADS, "3");
});
