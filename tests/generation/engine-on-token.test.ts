// The engine's per-request token callback (used for streaming): every sampled token is reported
// once, in order, per sample; it changes nothing about the results; a throwing callback rejects
// the call and leaves the engine usable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { debugModel, Tokenizer } from "../../src/models/index.ts";
import { GenerationEngine, type GenerationRequest } from "../../src/generation/index.ts";

torch.setNumThreads(1);
const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
const prompts = ["1+2=", "what is 7*8?", "the quick brown fox"];

test("onToken reports each sample's tokens in order, across continuous batching, without changing results", async () => {
  const model = debugModel("qwen3", { seed: 3, initStd: 0.5 });
  // 4 slots for 3 groups of 2: the third group joins when a slot pair frees up.
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64 });
  try {
    const params = { temperature: 1, maxTokens: 20, n: 2, seed: 11, stopTokenIds: [40, 41, 42] };
    const plain = await engine.generate(prompts, params);
    const seen = prompts.map(() => [[], []] as number[][]);
    const seenLogprobs = prompts.map(() => [[], []] as number[][]);
    const order: string[] = [];
    const requests: GenerationRequest[] = prompts.map((prompt, r) => ({
      prompt,
      onToken: (sampleIndex, tokenId, logprob) => {
        seen[r]![sampleIndex]!.push(tokenId);
        seenLogprobs[r]![sampleIndex]!.push(logprob);
        order.push(`${r}`);
      },
    }));
    const streamed = await engine.generate(requests, params);
    assert.deepEqual(
      streamed.map((c) => [c.tokenIds, c.logprobs, c.text]),
      plain.map((c) => [c.tokenIds, c.logprobs, c.text]),
    );
    for (const c of streamed) {
      assert.deepEqual(seen[c.requestIndex]![c.sampleIndex], c.tokenIds, `request ${c.requestIndex} sample ${c.sampleIndex}`);
      assert.deepEqual(seenLogprobs[c.requestIndex]![c.sampleIndex], c.logprobs);
    }
    assert.ok(streamed.some((c) => c.metadata.stopTokenId !== undefined), "some sample ended on a stop id, which is reported too");
    // Tokens of different requests interleave (they are decoded in one batch), not one request after another.
    assert.notDeepEqual(order, [...order].sort());
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("a throwing onToken rejects the call and frees its slots", async () => {
  const model = debugModel("llama", { seed: 4, initStd: 0.5 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64 });
  try {
    const params = { temperature: 1, maxTokens: 12, n: 2, seed: 5, ignoreEos: true };
    const before = await engine.generate(prompts.slice(0, 2), params);
    let count = 0;
    const boom = new Error("client went away");
    await assert.rejects(
      engine.generate(
        [
          { prompt: prompts[0]!, onToken: () => void (++count === 5 && (() => { throw boom; })()) },
          { prompt: prompts[1]! },
        ],
        params,
      ),
      (err) => err === boom,
    );
    assert.equal(engine.cache.numFree, 4, "every slot is free again");
    const after = await engine.generate(prompts.slice(0, 2), params);
    assert.deepEqual(after.map((c) => c.tokenIds), before.map((c) => c.tokenIds));
  } finally {
    engine.dispose();
    model.dispose();
  }
});
