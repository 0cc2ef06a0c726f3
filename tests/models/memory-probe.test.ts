/**
 * Memory probes of the no-grad scoring forward, read from the caching allocator's counters.
 * Its peak only rises, so probes run from the smallest expected peak to the largest: a later
 * probe's `peak − allocated-before` is then its own peak, or (when its peak stayed below an
 * earlier one) a smaller number that can only make the earlier probe look worse, never this one
 * look better than it is.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";

torch.setNumThreads(1);

const B = 8;
const T = 128;
const V = 4096;

/** Bytes allocated at the peak of `fn` above what was allocated before it. */
function peakOf(fn: () => void): number {
  const before = torch.memory().allocatedBytes;
  fn();
  return torch.memory().peakBytes - before;
}

test("a no-grad scoring forward's peak does not grow with the number of layers, and logits never exist whole", (t) => {
  if (!torch.memory().installed) {
    t.skip("the caching allocator is off (TORCHFORGE_CPU_ALLOCATOR=default): no peak counter");
    return;
  }
  const shallow = debugModel("qwen3", { overrides: { numLayers: 2, vocabSize: V } });
  const deep = debugModel("qwen3", { overrides: { numLayers: 8, vocabSize: V } });
  torch.manualSeed(1);
  const ids = torch.randint(0, V, [B, T]);
  const score = (m: typeof shallow) => () => torch.noGrad(() => torch.tidy(() => void m.sequenceLogprobs(ids, { chunkElements: 2 ** 16 })));
  const p2 = peakOf(score(shallow));
  const p8 = peakOf(score(deep));
  const logitsBytes = B * (T - 1) * V * 4;
  assert.ok(p8 <= p2 * 1.1 + 2 ** 18, `peak with 8 layers ${(p8 / 2 ** 20).toFixed(2)} MiB vs 2 layers ${(p2 / 2 ** 20).toFixed(2)} MiB`);
  assert.ok(p2 < logitsBytes / 2, `scoring peak ${(p2 / 2 ** 20).toFixed(2)} MiB; whole float32 logits would be ${(logitsBytes / 2 ** 20).toFixed(2)} MiB`);

  // The chunked scores equal log-softmax over whole logits.
  const [chunked, whole] = torch.noGrad(() =>
    torch.tidy(() => {
      const full = deep.forward(ids).narrow(1, 0, T - 1);
      return [deep.sequenceLogprobs(ids, { chunkElements: 3 * V + 5, temperature: 0.7 }), F.tokenLogprobs(full, ids.narrow(1, 1, T - 1), { temperature: 0.7 })];
    }),
  );
  assert.deepEqual(chunked!.shape, [B, T - 1]);
  const a = chunked!.toFlatArray();
  const b = whole!.toFlatArray();
  assert.ok(a.every((x, i) => Math.abs(x - b[i]!) < 1e-5), "chunked logprobs equal whole-logits logprobs");
  torch.dispose([chunked, whole, ids]);
  shallow.dispose();
  deep.dispose();
});

test("tokenLogprobs is chunked too and stays differentiable (gradients equal the whole-logits path)", () => {
  const model = debugModel("llama", { overrides: { vocabSize: 256 } });
  torch.manualSeed(2);
  const ids = torch.randint(0, 256, [2, 16]);
  const targets = torch.randint(0, 256, [2, 16]);
  const grads = (fn: () => import("../../src/torch/index.ts").Tensor) => {
    model.zeroGrad();
    torch.tidy(() => fn().sum().backward());
    return model.parameters().map((p) => torch.tidy(() => p.grad!.toFlatArray()));
  };
  const g1 = grads(() => model.tokenLogprobs(ids, targets, { chunkElements: 256 * 5 }));
  const g2 = grads(() => F.tokenLogprobs(model.forward(ids), targets));
  g1.forEach((g, i) => assert.ok(g.every((x, j) => Math.abs(x - g2[i]![j]!) < 1e-5), `gradient of parameter ${i}`));
  torch.dispose([ids, targets]);
  model.dispose();
});
