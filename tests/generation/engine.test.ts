// The engine against the model's own training path: KV-cache decode vs full recompute, logprob
// agreement, shared prefix vs independent prefill, continuous batching vs one by one, seeds,
// weight updates, memory, and bad inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debugModel, savePretrained, Tokenizer, type CausalLM } from "../../src/models/index.ts";
import { GenerationEngine, InvalidParameterError, InvalidPromptError, PromptTooLongError, type Completion, type GenerationRequest } from "../../src/generation/index.ts";

// Tiny models: one thread avoids OpenMP spin contention on a shared 2-core machine.
torch.setNumThreads(1);

const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
const prompts = ["1+2=", "what is 7*8?", "a", "the quick brown fox jumps over", "12345"];

/** Max |engine logprob - training-path logprob| over all completions (mean printed with `label`). */
function logprobGap(model: CausalLM, completions: Completion[], temperature: number, label?: string): number {
  let worst = 0;
  let sum = 0;
  let count = 0;
  for (const c of completions) {
    const all = [...c.promptIds, ...c.tokenIds];
    const ref = torch.tidy(() => {
      const lp = torch.noGrad(() => model.sequenceLogprobs(torch.tensor([all]), { temperature }));
      return lp.toFlatArray().slice(c.promptIds.length - 1);
    });
    assert.equal(ref.length, c.logprobs.length);
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ref[i]! - c.logprobs[i]!);
      worst = Math.max(worst, d);
      sum += d;
      count++;
    }
  }
  if (label) console.log(`# logprob agreement ${label}: max |engine - training| = ${worst.toExponential(2)}, mean = ${(sum / count).toExponential(2)} over ${count} tokens`);
  return worst;
}

function tokensOf(cs: Completion[]): number[][] {
  return cs.map((c) => c.tokenIds);
}

test("KV-cache decode equals full recompute (greedy) and logprobs agree with the training path (fp32 ≤ 1e-4)", async () => {
  const model = debugModel("qwen3", { seed: 1, initStd: 0.5 });
  // A small cache forces column shifts (compaction) and continuous batching.
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64, cacheColumns: 72 });
  try {
    const greedy = await engine.generate(prompts, { greedy: true, maxTokens: 40, ignoreEos: true, n: 2 });
    assert.equal(greedy.length, prompts.length * 2);
    for (const c of greedy) {
      const all = [...c.promptIds, ...c.tokenIds];
      const argmax = torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor([all])).argmax(-1)).toFlatArray());
      assert.deepEqual(c.tokenIds, argmax.slice(c.promptIds.length - 1, all.length - 1), `greedy tokens differ for ${JSON.stringify(c.text)}`);
    }
    assert.ok(logprobGap(model, greedy, 1) <= 1e-4);
    // Stop ids end samples at different times: freed slots are refilled or compacted (moves).
    const cache = engine.cache;
    const move = cache.move.bind(cache);
    let moves = 0;
    cache.move = (from: number, to: number) => (moves++, move(from, to));
    const ragged = await engine.generate(prompts, { temperature: 1, maxTokens: 40, n: 3, seed: 9, stopTokenIds: greedy.map((c) => c.tokenIds[5]!) });
    assert.ok(moves > 0, "expected slot compaction");
    assert.ok(new Set(ragged.map((c) => c.tokenIds.length)).size > 2, "expected varied lengths");
    assert.ok(logprobGap(model, ragged, 1) <= 1e-4);
    const sampled = await engine.generate(prompts, { temperature: 0.8, topP: 0.95, maxTokens: 48, n: 3, seed: 5, ignoreEos: true });
    const gap = logprobGap(model, sampled, 0.8, "fp32 (qwen3 debug, init std 0.5, T=0.8)");
    assert.ok(gap <= 1e-4, `gap ${gap}`);
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("logprob agreement in bfloat16 is measured (reported, loose bound)", async () => {
  const model = debugModel("llama", { seed: 2, initStd: 0.2, dtype: "bfloat16" });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 96 });
  try {
    const cs = await engine.generate(prompts, { temperature: 1, maxTokens: 48, n: 2, seed: 3, ignoreEos: true });
    const gap = logprobGap(model, cs, 1, "bf16 (llama debug, init std 0.2, T=1)");
    assert.ok(gap < 0.5, `bf16 gap ${gap}`);
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("shared-prefix n samples equal independently prefilled ones with the same seed", async () => {
  const model = debugModel("llama", { seed: 3, initStd: 0.3 });
  const shared = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 64 });
  const single = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 64, sharePrefix: false });
  try {
    const params = { temperature: 1, maxTokens: 24, n: 4, seed: 11, ignoreEos: true };
    const a = await shared.generate(prompts.slice(0, 2), params);
    const b = await single.generate(prompts.slice(0, 2), params);
    assert.deepEqual(tokensOf(a), tokensOf(b));
    assert.ok(new Set(a.slice(0, 4).map((c) => c.text)).size > 1, "samples of a group should differ");
    for (let i = 0; i < a.length; i++) for (let t = 0; t < a[i]!.logprobs.length; t++) assert.ok(Math.abs(a[i]!.logprobs[t]! - b[i]!.logprobs[t]!) < 1e-5);
    // Samples that stop early free slots mid-group: compaction moves rows and attention's shared
    // prompt rows are re-chosen each step; results must still equal independent prefills.
    const stopping = { temperature: 1.3, maxTokens: 20, n: 3, seed: 5, stopTokenIds: [5, 9, 12] };
    const c = await shared.generate(prompts, stopping);
    const d = await single.generate(prompts, stopping);
    assert.ok(new Set(c.map((x) => x.tokenIds.length)).size > 2, "want varied lengths");
    assert.deepEqual(tokensOf(c), tokensOf(d));
  } finally {
    shared.dispose();
    single.dispose();
    model.dispose();
  }
});

test("continuous batching equals one-by-one generation; stopped sequences free their slots", async () => {
  const model = debugModel("mistral", { seed: 4, initStd: 0.3 });
  const batched = new GenerationEngine({ model, tokenizer, maxBatchSize: 3, maxSeqLen: 64, cacheColumns: 80 });
  const alone = new GenerationEngine({ model, tokenizer, maxBatchSize: 2, maxSeqLen: 64 });
  try {
    // Varied lengths: different maxTokens per call is not possible, so stop tokens end some early.
    const requests: GenerationRequest[] = prompts.map((p, i) => ({ prompt: p, seed: 100 + i, metadata: { row: i } }));
    const params = { temperature: 1.2, maxTokens: 30, n: 2, stopTokenIds: [5, 9] };
    const together = await batched.generate(requests, params);
    const reasons = new Set(together.map((c) => c.stopReason));
    assert.ok(reasons.has("stop") && reasons.has("length"), `want both stop reasons, got ${[...reasons]}`);
    for (let i = 0; i < requests.length; i++) {
      const one = await alone.generate([requests[i]!], params);
      assert.deepEqual(tokensOf(one), tokensOf(together.slice(2 * i, 2 * i + 2)), `request ${i}`);
      assert.equal(together[2 * i]!.metadata.row, i);
    }
  } finally {
    batched.dispose();
    alone.dispose();
    model.dispose();
  }
});

test("seeded sampling is reproducible; another seed gives other samples", async () => {
  const model = debugModel("qwen2", { seed: 5, initStd: 0.3 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 64 });
  try {
    const params = { temperature: 1, maxTokens: 16, n: 3, seed: 42, ignoreEos: true };
    const a = await engine.generate(prompts.slice(0, 3), params);
    const b = await engine.generate(prompts.slice(0, 3), params);
    const c = await engine.generate(prompts.slice(0, 3), { ...params, seed: 43 });
    assert.deepEqual(tokensOf(a), tokensOf(b));
    assert.notDeepEqual(tokensOf(a), tokensOf(c));
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("inputs as text, token ids and chat messages; completion fields", async () => {
  const model = debugModel("qwen3", { seed: 6 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 128 });
  try {
    const ids = tokenizer.encode("hi there");
    const chat = [{ role: "user", content: "2+2?" }];
    const [a, b, c] = await engine.generate(["hi there", ids, chat], { maxTokens: 5, seed: 1, logprobs: 3 });
    assert.deepEqual(a!.promptIds, ids);
    assert.deepEqual(b!.promptIds, ids);
    assert.deepEqual(c!.promptIds, tokenizer.applyChatTemplate(chat, { addGenerationPrompt: true, tokenize: true }));
    for (const x of [a!, b!, c!]) {
      assert.equal(x.generatorVersion, 0);
      assert.equal(x.logprobs.length, x.tokenIds.length);
      assert.equal(x.topLogprobs!.length, x.tokenIds.length);
      assert.equal(x.topLogprobs![0]!.tokenIds.length, 3);
      assert.ok(x.topLogprobs![0]!.logprobs[0]! >= x.logprobs[0]! - 1e-6);
      assert.equal(typeof x.text, "string");
    }
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("updateWeights loads new weights in place, keeps the cache and stamps the version", async () => {
  const model = debugModel("llama", { seed: 7, initStd: 0.3 });
  const other = debugModel("llama", { seed: 8, initStd: 0.3 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64 });
  const reference = new GenerationEngine({ model: other, tokenizer, maxBatchSize: 4, maxSeqLen: 64 });
  try {
    const params = { greedy: true, maxTokens: 12, ignoreEos: true };
    const before = await engine.generate(prompts.slice(0, 2), params);
    const cacheTensor = engine.cache.keys[0]!;
    await engine.updateWeights(other.stateDict(), 3);
    const after = await engine.generate(prompts.slice(0, 2), params);
    const expected = await reference.generate(prompts.slice(0, 2), params);
    assert.equal(engine.cache.keys[0], cacheTensor, "cache was reallocated");
    assert.equal(after[0]!.generatorVersion, 3);
    assert.equal(before[0]!.generatorVersion, 0);
    assert.deepEqual(tokensOf(after), tokensOf(expected));
    // From a checkpoint directory, as a separate trainer process would publish it.
    const dir = mkdtempSync(join(tmpdir(), "tf-gen-"));
    try {
      savePretrained(model, dir); // engine's current weights (= other's), then reload them as version 4
      await engine.updateWeights(dir, 4);
      const again = await engine.generate(prompts.slice(0, 2), params);
      assert.deepEqual(tokensOf(again), tokensOf(expected));
      assert.equal(again[0]!.generatorVersion, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await assert.rejects(engine.updateWeights({}, -1), /'version' must be a non-negative integer/);
    const wrong = torch.ones([3]);
    await assert.rejects(engine.updateWeights(new Map([["model.norm.weight", wrong]]), 4), /missing tensors|shape mismatch/);
    wrong.dispose();
  } finally {
    engine.dispose();
    reference.dispose();
    model.dispose();
    other.dispose();
  }
});

test("no tensors leak across generate calls", async () => {
  const model = debugModel("qwen3", { seed: 9 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64, cacheColumns: 70 });
  try {
    await engine.generate(prompts, { maxTokens: 20, n: 2, seed: 1, stop: ["e"] });
    const live = torch.memory().numTensors;
    await engine.generate(prompts, { maxTokens: 30, n: 3, seed: 2, topK: 5, minP: 0.05, logprobs: 2 });
    await engine.generate(prompts, { greedy: true, maxTokens: 10 });
    // <=: the garbage collector may finalise handles other tests dropped; growth would be a leak.
    assert.ok(torch.memory().numTensors <= live, `live tensors grew from ${live} to ${torch.memory().numTensors}`);
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("bad inputs give clear errors", async () => {
  const model = debugModel("qwen2", { seed: 10 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 16 });
  try {
    await assert.rejects(engine.generate(["this prompt is far longer than sixteen tokens"], {}), PromptTooLongError);
    await assert.rejects(engine.generate([[1, 2, 999]], {}), (e: Error) => e instanceof InvalidPromptError && /outside the vocabulary/.test(e.message));
    await assert.rejects(engine.generate([[]], {}), InvalidPromptError);
    await assert.rejects(engine.generate(["ok"], { topP: 0 }), (e: Error) => e instanceof InvalidParameterError && /'topP'/.test(e.message));
    await assert.rejects(engine.generate(["ok"], { n: 5 }), /'n' must be an integer in \[1, maxBatchSize = 4\]/);
    assert.throws(() => new GenerationEngine({ model, maxSeqLen: 10_000 }), /maxSeqLen/);
    const noTok = new GenerationEngine({ model, maxBatchSize: 2, maxSeqLen: 16 });
    await assert.rejects(noTok.generate(["text"], {}), /needs an engine with a tokenizer/);
    // A failed call does not wedge the engine.
    const ok = await engine.generate([[3, 4]], { maxTokens: 2 });
    assert.equal(ok.length, 1);
    noTok.dispose();
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("packWeights: packed fp32 linears agree with the training path, are repacked per call and cleared after", async (t) => {
  const { F, nn } = await import("../../src/torch/index.ts");
  if (!F.packedLinearAvailable()) return t.skip("libtorch without MKL: no packed GEMM");
  const model = debugModel("llama", { seed: 2, initStd: 0.5 });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 64, packWeights: true });
  const linears = () => [...model.namedModules()].map(([, m]) => m).filter((m): m is InstanceType<typeof nn.Linear> => m instanceof nn.Linear);
  try {
    assert.equal(engine.weightsPacked, true);
    const first = await engine.generate(prompts, { temperature: 0.9, maxTokens: 24, n: 2, seed: 3, ignoreEos: true });
    assert.ok(logprobGap(model, first, 0.9, "fp32 with packed weights") <= 1e-4);
    assert.ok(linears().length > 0 && linears().every((m) => m.inferencePack === null), "packs are cleared when generate returns");
    // New weights between calls (as an optimizer step would write them): the next call repacks.
    torch.noGrad(() => {
      for (const p of model.parameters()) p.mul_(0.7);
    });
    const second = await engine.generate(prompts, { temperature: 0.9, maxTokens: 24, n: 2, seed: 3, ignoreEos: true });
    assert.ok(logprobGap(model, second, 0.9) <= 1e-4, "the second call used the new weights");
  } finally {
    engine.dispose();
    model.dispose();
  }
  // q/k/v and gate/up run as one packed GEMM each (nn.LinearGroup): with q/k/v biases (Qwen2)
  // and with q/k norms on the split outputs (Qwen3) too.
  for (const family of ["qwen2", "qwen3"] as const) {
    const m = debugModel(family, { seed: 5, initStd: 0.5 });
    const e = new GenerationEngine({ model: m, tokenizer, maxBatchSize: 8, maxSeqLen: 64, packWeights: true });
    try {
      const groups = [...m.namedModules()].flatMap(([, mod]) => (nn.hasLinearGroups(mod) ? mod.linearGroups() : []));
      assert.equal(groups.length, 2 * m.config.numLayers);
      let packedForwards = 0;
      const g0 = groups[0]!;
      const forward = g0.forward.bind(g0);
      g0.forward = (x) => {
        if (g0.inferencePack !== null && F.packedLinearsActive()) packedForwards++;
        return forward(x);
      };
      const out = await e.generate(prompts.slice(0, 3), { temperature: 0.9, maxTokens: 16, n: 2, seed: 4, ignoreEos: true });
      assert.ok(logprobGap(m, out, 0.9) <= 1e-4, family);
      assert.ok(packedForwards > 0, "the stacked packed GEMM ran");
      assert.ok(groups.every((g) => g.inferencePack === null), "group packs are cleared when generate returns");
    } finally {
      e.dispose();
      m.dispose();
    }
  }
});
