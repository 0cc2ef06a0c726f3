import { test } from "node:test";
import assert from "node:assert/strict";
import { DataOptionError, EpochSampler, ExampleSampler, SamplerStateError, SeededRandom } from "../../src/data/index.ts";

test("each epoch is a permutation, epochs differ, same seed same order", () => {
  const s = new EpochSampler({ size: 50, seed: 7 });
  const e0 = s.nextBatch(50);
  const e1 = s.nextBatch(50);
  assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(e0, e1);
  assert.equal(s.epoch, 1);
  const again = new EpochSampler({ size: 50, seed: 7 });
  assert.deepEqual(again.nextBatch(100), [...e0, ...e1]);
  assert.notDeepEqual(new EpochSampler({ size: 50, seed: 8 }).nextBatch(50), e0);
  assert.deepEqual(s.epochOrder(0), e0);
});

test("next() reports the epoch and rolls over", () => {
  const s = new EpochSampler({ size: 2, shuffle: false });
  assert.deepEqual([s.next(), s.next(), s.next()], [
    { index: 0, epoch: 0 },
    { index: 1, epoch: 0 },
    { index: 0, epoch: 1 },
  ]);
});

test("stateDict/loadStateDict resume exactly, also across epoch boundaries", () => {
  const uninterrupted = new EpochSampler({ size: 13, seed: 3 });
  const expected = uninterrupted.nextBatch(60);
  for (const cut of [0, 5, 13, 26, 31]) {
    const first = new EpochSampler({ size: 13, seed: 3 });
    const head = first.nextBatch(cut);
    const saved = JSON.parse(JSON.stringify(first.stateDict()));
    const resumed = new EpochSampler({ size: 13, seed: 3 });
    resumed.loadStateDict(saved);
    assert.deepEqual([...head, ...resumed.nextBatch(60 - cut)], expected, `cut at ${cut}`);
  }
});

test("loading a state from another dataset or seed is refused with the field name", () => {
  const s = new EpochSampler({ size: 10, seed: 1 });
  const state = s.stateDict();
  assert.throws(() => new EpochSampler({ size: 11, seed: 1 }).loadStateDict(state), (e: unknown) => e instanceof SamplerStateError && /'size'/.test(e.message));
  assert.throws(() => new EpochSampler({ size: 10, seed: 2 }).loadStateDict(state), /'seed'/);
  assert.throws(() => s.loadStateDict({ ...state, position: 11 }), /'position'/);
  assert.throws(() => new EpochSampler({ size: 0 }), (e: unknown) => e instanceof DataOptionError && /'size'/.test(e.message));
  assert.throws(() => new EpochSampler({ size: 3, seed: -1 }), /'seed'/);
});

test("SeededRandom is deterministic and its state restores", () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(Array.from({ length: 5 }, () => b.next()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const state = a.getState();
  const next = a.next();
  b.setState(state);
  assert.equal(b.next(), next);
  // Rough uniformity: the mean of many draws is near 0.5.
  const r = new SeededRandom(1);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += r.next();
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
});

test("ExampleSampler draws examples through a seeded, resumable sampler", () => {
  const examples = ["a", "b", "c", "d", "e"];
  const s = new ExampleSampler({ examples, seed: 9 });
  const firstEpoch = s.sampleBatch(5);
  assert.deepEqual([...firstEpoch].sort(), examples);
  const state = s.stateDict();
  const next = [s.sample(), s.sample()];
  const resumed = new ExampleSampler({ examples, seed: 9 });
  resumed.loadStateDict(state);
  assert.deepEqual(resumed.sampleBatch(2), next);
  assert.equal(resumed.epoch, 1);
  assert.throws(() => new ExampleSampler({ examples: [] }), /'examples'/);
});
