import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { collate, createEpisode, responseLogits } from "../../src/rl/index.ts";

test("trained logprobs equal the generator's for left-padded prompts of different lengths", async () => {
  const model = debugModel("qwen3", { seed: 3 });
  const engine = new GenerationEngine({ model, maxBatchSize: 16, maxSeqLen: 64 });
  const prompts = [[5, 6, 7], [8, 9, 10, 11, 12, 13, 14], [15]];
  const completions = await engine.generate(prompts.map((prompt) => ({ prompt })), { n: 2, maxTokens: 8, seed: 1, temperature: 1 });
  const episodes = completions.map((c, i) => createEpisode({ id: String(i), prompt: "", completion: c, reward: 0 }));
  const batch = collate([episodes], { padId: 0 });
  const diff = torch.tidy(() => {
    const { tokens, attentionMask } = batch.inputs[0]!;
    const t = batch.targets[0]!;
    const logits = torch.noGrad(() => model.forward(tokens, { attentionMask }));
    const lp = F.tokenLogprobs(responseLogits(logits, { promptLength: t.promptLength, responseLength: t.response.shape[1]! }), t.response);
    return lp.sub(t.generatorLogprobs!).mul(t.paddingMask).abs().max().item();
  });
  assert.ok(diff <= 1e-4, `max |trained - generator| logprob = ${diff}`);
  torch.dispose(batch);
  engine.dispose();
  model.dispose();
});
