// GRPO must raise the reward on a task where it can: a tiny random model is rewarded for the
// fraction of its sampled tokens that fall in the lower half of the vocabulary (≈ 0.5 at the
// start). Generation, group advantages, collate, the policy loss and the optimizer step all take
// part; a sign error or a dropped advantage anywhere leaves the reward flat or lowers it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { assignAdvantages, collate, createEpisode, GRPOLoss, type Group } from "../../src/rl/index.ts";
import { Trainer } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

test("a few seeded GRPO steps raise the mean reward of a tiny model on a learnable task", async () => {
  const model = debugModel("llama", { seed: 11 });
  const V = 128;
  // The engine decodes with the policy's own parameters: each step's update is seen at once.
  const engine = new GenerationEngine({ model, maxBatchSize: 32, maxSeqLen: 32 });
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 5e-3 }, temperature: 0.7, entropy: false });
  const rewardOf = (ids: number[]) => ids.filter((t) => t < V / 2).length / ids.length;
  const means: number[] = [];
  try {
    for (let step = 0; step < 12; step++) {
      const prompts = Array.from({ length: 8 }, (_, i) => ({ prompt: [1 + ((step * 8 + i) % 100), 2, 3] }));
      const completions = await engine.generate(prompts, { n: 4, maxTokens: 6, temperature: 0.7, seed: step, ignoreEos: true });
      const groups: Group[] = prompts.map((_, i) => ({
        prompt: String(i),
        episodes: completions
          .filter((c) => c.requestIndex === i)
          .map((c) => createEpisode({ id: `${step}/${i}/${c.sampleIndex}`, prompt: String(i), completion: c, reward: rewardOf(c.tokenIds) })),
      }));
      const eps = groups.flatMap((g) => g.episodes);
      means.push(eps.reduce((s, e) => s + e.reward, 0) / eps.length);
      assignAdvantages(groups);
      const batch = collate([eps], { padId: 0 });
      trainer.trainStep(batch);
      torch.dispose(batch);
    }
  } finally {
    trainer.dispose();
    engine.dispose();
    model.dispose();
  }
  const first = (means[0]! + means[1]!) / 2;
  const last = (means.at(-1)! + means.at(-2)!) / 2;
  console.log(`# GRPO mean reward by step: ${means.map((m) => m.toFixed(2)).join(" ")}`);
  assert.ok(last > first + 0.25, `mean reward should rise by > 0.25: first ${first.toFixed(3)}, last ${last.toFixed(3)}`);
});
