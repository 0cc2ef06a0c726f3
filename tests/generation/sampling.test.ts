// Sampling statistics against a mock model with known logits (no real weights involved):
// temperature reshapes the distribution, top-k/top-p/min-p truncate it, seeds reproduce it;
// stop strings, stop ids and max tokens end samples where they should.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { Tokenizer } from "../../src/models/index.ts";
import { GenerationEngine, SequenceRng, sampleTokens, type ResolvedSampling } from "../../src/generation/index.ts";
import { BigramModel, logitsOf } from "./mock-model.ts";

// Tiny models: one thread avoids OpenMP spin contention on a shared 2-core machine.
torch.setNumThreads(1);

const PROBS = [0.5, 0.3, 0.15, 0.05];
const N = 20000;

/** Empirical token frequencies of N rows of the same logits. */
function frequencies(params: Partial<ResolvedSampling>, seed = 1): number[] {
  const rng = new SequenceRng(seed);
  const counts = new Array<number>(PROBS.length).fill(0);
  torch.tidy(() => {
    const logits = torch.tensor([logitsOf(PROBS)]).expand(N, PROBS.length);
    const out = sampleTokens(logits, { temperature: 1, topK: 0, topP: 1, minP: 0, logprobs: 0, ...params }, Array.from({ length: N }, () => rng.next()));
    for (const t of out.tokens) counts[t]!++;
  });
  return counts.map((c) => c / N);
}

function expectClose(actual: number[], expected: number[], tol = 0.015): void {
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < tol, `token ${i}: ${a.toFixed(4)} vs ${expected[i]!.toFixed(4)} (all: ${actual.map((x) => x.toFixed(3))})`));
}

function normalise(p: number[]): number[] {
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

test("temperature 1 reproduces the model distribution; other temperatures give softmax(logits / T)", () => {
  expectClose(frequencies({}), PROBS);
  for (const T of [0.5, 2]) expectClose(frequencies({ temperature: T }), normalise(PROBS.map((p) => Math.pow(p, 1 / T))));
});

test("top-k, top-p and min-p truncate and renormalise", () => {
  expectClose(frequencies({ topK: 2 }), normalise([0.5, 0.3, 0, 0]));
  // top-p 0.6: token 1 is kept (mass before it 0.5 < 0.6), token 2 is not (0.8).
  expectClose(frequencies({ topP: 0.6 }), normalise([0.5, 0.3, 0, 0]));
  expectClose(frequencies({ topP: 0.85 }), normalise([0.5, 0.3, 0.15, 0]));
  // min-p 0.2: keep p >= 0.1.
  expectClose(frequencies({ minP: 0.2 }), normalise([0.5, 0.3, 0.15, 0]));
  expectClose(frequencies({ topK: 3, topP: 0.7 }), normalise([0.5, 0.3, 0, 0]));
  // A tiny top-p keeps exactly the most likely token.
  assert.deepEqual(frequencies({ topP: 0.01 }), [1, 0, 0, 0]);
});

test("greedy picks the argmax; reported logprobs are of the temperature-scaled untruncated distribution", () => {
  torch.tidy(() => {
    const logits = torch.tensor([logitsOf(PROBS), logitsOf([0.1, 0.2, 0.6, 0.1])]);
    const g = sampleTokens(logits, { temperature: 0, topK: 0, topP: 1, minP: 0, logprobs: 2 }, [0, 0]);
    assert.deepEqual(g.tokens, [0, 2]);
    assert.ok(Math.abs(g.logprobs[0]! - Math.log(0.5)) < 1e-5);
    assert.deepEqual(g.top![1]!.tokenIds, [2, 1]);
    const s = sampleTokens(logits, { temperature: 2, topK: 1, topP: 1, minP: 0, logprobs: 0 }, [0.3, 0.9]);
    assert.deepEqual(s.tokens, [0, 2]);
    const scaled = normalise(PROBS.map((p) => Math.sqrt(p)));
    assert.ok(Math.abs(s.logprobs[0]! - Math.log(scaled[0]!)) < 1e-5);
  });
});

test("the engine samples the mock model's distribution, reproducibly per seed", async () => {
  // Every token's successor follows PROBS over tokens 0..3 (vocab 4).
  const model = new BigramModel(PROBS.map(() => logitsOf(PROBS)));
  const engine = new GenerationEngine({ model, maxBatchSize: 64, maxSeqLen: 64 });
  try {
    const requests = Array.from({ length: 40 }, () => [0]);
    const a = await engine.generate(requests, { n: 50, maxTokens: 4, seed: 7 });
    const counts = new Array<number>(4).fill(0);
    let total = 0;
    for (const c of a) for (const t of c.tokenIds) (counts[t]!++, total++);
    expectClose(counts.map((c) => c / total), PROBS, 0.02);
    const b = await engine.generate(requests.slice(0, 3), { n: 50, maxTokens: 4, seed: 7 });
    assert.deepEqual(b.map((c) => c.tokenIds), a.slice(0, 150).map((c) => c.tokenIds));
    for (const c of a.slice(0, 20)) c.tokenIds.forEach((t, i) => assert.ok(Math.abs(c.logprobs[i]! - Math.log(PROBS[t]!)) < 1e-5));
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("stop strings, stop token ids and max tokens", async () => {
  const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
  const V = 128;
  // Deterministic successor table spelling "abc defg" (distinct characters) then eos.
  const text = "abc defg";
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  const table = Array.from({ length: V }, () => new Array<number>(V).fill(-1e9).map((x, j) => (j === tokenizer.eosTokenId ? 0 : x)));
  const start = tokenizer.encode(">", { addSpecialTokens: false })[0]!;
  let prev = start;
  for (const id of ids) {
    table[prev]!.fill(-1e9);
    table[prev]![id] = 0;
    prev = id;
  }
  const model = new BigramModel(table);
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 64 });
  try {
    const full = (await engine.generate([[start]], { temperature: 0, maxTokens: 30 }))[0]!;
    assert.equal(full.stopReason, "stop");
    assert.equal(full.metadata.stopTokenId, tokenizer.eosTokenId);
    assert.equal(full.tokenIds.at(-1), tokenizer.eosTokenId);
    assert.ok(!full.text.includes("<|eos|>"));
    const expected = full.text;
    assert.equal(expected, text);
    const short = (await engine.generate([[start]], { temperature: 0, maxTokens: 3 }))[0]!;
    assert.equal(short.stopReason, "length");
    assert.equal(short.tokenIds.length, 3);
    assert.equal(short.text, expected.slice(0, 3));
    const stopped = (await engine.generate([[start]], { temperature: 0, maxTokens: 30, stop: ["xyz", "de"] }))[0]!;
    assert.equal(stopped.stopReason, "stop");
    assert.equal(stopped.metadata.stopString, "de");
    assert.equal(stopped.text, "abc ");
    assert.equal(stopped.tokenIds.length, "abc de".length);
    const byId = (await engine.generate([[start]], { temperature: 0, maxTokens: 30, stopTokenIds: [ids[1]!] }))[0]!;
    assert.equal(byId.stopReason, "stop");
    assert.equal(byId.metadata.stopTokenId, ids[1]);
    const ignore = (await engine.generate([[start]], { temperature: 0, maxTokens: 20, ignoreEos: true }))[0]!;
    assert.equal(ignore.stopReason, "length");
    assert.equal(ignore.tokenIds.length, 20);
  } finally {
    engine.dispose();
    model.dispose();
  }
});

test("top-p over a large vocabulary: candidate path and full-sort fallback agree with the exact distribution", () => {
  const V = 1000;
  // Peaked: 3 heavy tokens, a light uniform tail (top-p 0.75 is covered by the 256 candidates).
  const peaked = Array.from({ length: V }, (_, i) => (i === 10 ? 0.4 : i === 500 ? 0.3 : i === 900 ? 0.2 : 0.1 / (V - 3)));
  // Flat: top-p 0.5 needs 500 tokens, more than the candidates, so the full sort runs.
  const flat = new Array<number>(V).fill(1 / V);
  const rows = 6000;
  const rng = new SequenceRng(3);
  torch.tidy(() => {
    const params = { temperature: 1, topK: 0, topP: 0.75, minP: 0, logprobs: 0 };
    const logits = torch.tensor([logitsOf(peaked)]).expand(rows, V);
    const out = sampleTokens(logits, params, Array.from({ length: rows }, () => rng.next()));
    const counts = new Map<number, number>();
    for (const t of out.tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [10, 500, 900]);
    expectClose([counts.get(10)! / rows, counts.get(500)! / rows, counts.get(900)! / rows], normalise([0.4, 0.3, 0.2]), 0.02);
    const flatOut = sampleTokens(torch.tensor([logitsOf(flat)]).expand(rows, V), { ...params, topP: 0.5 }, Array.from({ length: rows }, () => rng.next()));
    const distinct = new Set(flatOut.tokens);
    assert.ok(distinct.size > 400 && distinct.size <= 501, `flat top-p 0.5 should keep ~500 tokens; saw ${distinct.size}`);
  });
});
