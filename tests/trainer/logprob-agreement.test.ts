import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F, type Tensor } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { collate, createEpisode, responseLogits, GRPOLoss, type Loss } from "../../src/rl/index.ts";
import { policyLossFn, sftLossFn, type ForwardModel } from "../../src/trainer/index.ts";

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

test("the policy loss on a CausalLM (LM head on response positions only) equals the whole-logits path", async () => {
  const model = debugModel("llama", { seed: 4 });
  const engine = new GenerationEngine({ model, maxBatchSize: 8, maxSeqLen: 64 });
  const completions = await engine.generate([{ prompt: [5, 6, 7, 8] }, { prompt: [9] }], { n: 2, maxTokens: 6, seed: 2, temperature: 1 });
  const episodes = completions.map((c, i) => Object.assign(createEpisode({ id: String(i), prompt: "", completion: c, reward: i }), { advantage: i - 1.5 }));
  const batch = collate([episodes], { padId: 0 });
  const mb = { inputs: batch.inputs[0]!, targets: batch.targets[0]! };
  // Only `forward`: the loss falls back to whole-sequence logits.
  const forwardOnly = { forward: (ids: Tensor, o?: { attentionMask?: Tensor }) => model.forward(ids, o) } as unknown as ForwardModel;
  // A loss that is the masked logprob sum: compares the logprobs themselves.
  const seen = { forward: (x: { logprobs: Tensor; paddingMask: Tensor }) => ({ loss: x.logprobs.mul(x.paddingMask).sum(), metrics: {} }) } as unknown as Loss;
  const [la, lb] = [model, forwardOnly].map((m) => torch.tidy(() => policyLossFn(seen, { entropy: false })({ model: m as ForwardModel, batch: mb, globalTokenCount: 10, globalSequenceCount: 4 }).loss.item()));
  assert.ok(la! < 0 && Math.abs(la! - lb!) < 1e-4, `logprob sums ${la} vs ${lb}`);
  for (const entropy of [true, false]) {
    const fn = policyLossFn(new GRPOLoss({ beta: 0 }), { entropy });
    const [a, b] = [model, forwardOnly].map((m) => torch.tidy(() => {
      const out = fn({ model: m as ForwardModel, batch: mb, globalTokenCount: 10, globalSequenceCount: 4 });
      return { loss: out.loss.item(), metrics: out.metrics as Record<string, number> };
    }));
    assert.ok(Math.abs(a!.loss - b!.loss) < 1e-6, `entropy ${entropy}: loss ${a!.loss} vs ${b!.loss}`);
    for (const [k, v] of Object.entries(b!.metrics)) if (typeof v === "number") assert.ok(Math.abs(a!.metrics[k]! - v) < 1e-5, `metric ${k}`);
  }
  // SFT: the chunked head gives the whole-logits loss.
  const sft = { inputIds: mb.inputs.tokens, lossMask: torch.onesLike(mb.inputs.attentionMask.to("float32")) };
  const [sa, sb] = [model, forwardOnly].map((m) => torch.tidy(() => sftLossFn({ model: m as ForwardModel, batch: sft, globalTokenCount: 20, globalSequenceCount: 4 }).loss.item()));
  assert.ok(Math.abs(sa! - sb!) < 1e-6 && sa! > 0, `sft loss ${sa} vs ${sb}`);
  torch.dispose(batch);
  engine.dispose();
  model.dispose();
});
