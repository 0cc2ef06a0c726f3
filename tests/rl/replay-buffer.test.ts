import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayBuffer, RLOptionError, ReplayBufferStateError } from "../../src/rl/index.ts";

interface Ep {
  id: number;
  policyVersion: number;
}
const eps = (n: number, version = 0, start = 0): Ep[] => Array.from({ length: n }, (_, i) => ({ id: start + i, policyVersion: version }));

test("sample returns dpSize batches of batchSize distinct episodes, or undefined", () => {
  const rb = new ReplayBuffer<Ep>({ batchSize: 3, dpSize: 2, seed: 1 });
  eps(5).forEach((e) => rb.add(e));
  assert.equal(rb.sample(0), undefined);
  assert.equal(rb.size, 5, "nothing consumed when too few");
  rb.add({ id: 5, policyVersion: 0 });
  const s = rb.sample(0)!;
  assert.equal(s.length, 2);
  assert.deepEqual(s.map((b) => b.length), [3, 3]);
  assert.deepEqual(s.flat().map((e) => e.id).sort(), [0, 1, 2, 3, 4, 5]);
  assert.equal(rb.size, 0, "maxResampleCount 0: each episode is used once");
  assert.equal(rb.sample(0), undefined);
});

test("staleness: episodes older than maxPolicyAge are evicted before sampling", () => {
  const rb = new ReplayBuffer<Ep>({ batchSize: 2, maxPolicyAge: 1, seed: 0 });
  rb.add({ id: 0, policyVersion: 0 });
  rb.add({ id: 1, policyVersion: 1 });
  rb.add({ id: 2, policyVersion: 2 });
  // At version 2: age(0) = 2 > 1 → evicted; ages 1 and 0 kept.
  const s = rb.sample(2)!;
  assert.deepEqual(s[0]!.map((e) => e.id).sort(), [1, 2]);
  const m = rb.metrics();
  assert.equal(m.evictedStale, 1);
  assert.equal(m.lastSampledAgeMean, 0.5);
  assert.equal(m.lastSampledAgeMax, 1);
  // maxPolicyAge 0 = strictly on-policy
  const strict = new ReplayBuffer<Ep>({ batchSize: 1, maxPolicyAge: 0 });
  strict.add({ id: 0, policyVersion: 3 });
  assert.equal(strict.sample(4), undefined);
  assert.equal(strict.size, 0);
  // evict() directly
  const rb2 = new ReplayBuffer<Ep>({ batchSize: 1, maxPolicyAge: 2 });
  eps(3, 0).forEach((e) => rb2.add(e));
  eps(2, 5, 10).forEach((e) => rb2.add(e));
  rb2.evict(6);
  assert.equal(rb2.size, 2);
});

test("maxResampleCount: an episode is sampled at most 1 + maxResampleCount times", () => {
  const rb = new ReplayBuffer<Ep>({ batchSize: 2, maxResampleCount: 2, seed: 3 });
  eps(2).forEach((e) => rb.add(e));
  for (let i = 0; i < 3; i++) assert.deepEqual(rb.sample(0)![0]!.map((e) => e.id).sort(), [0, 1]);
  assert.equal(rb.sample(0), undefined);
  assert.equal(rb.metrics().evictedOverused, 2);
  assert.equal(rb.metrics().sampledBatches, 3);
});

test("maxBufferSize evicts oldest first; metrics count additions and evictions", () => {
  const rb = new ReplayBuffer<Ep>({ batchSize: 1, maxBufferSize: 3 });
  eps(5).forEach((e) => rb.add(e));
  assert.equal(rb.size, 3);
  const m = rb.metrics();
  assert.equal(m.added, 5);
  assert.equal(m.evictedOverflow, 2);
  const st = rb.stateDict();
  assert.deepEqual(st.entries.map((e) => e.episode.id), [2, 3, 4]);
  rb.clear();
  assert.equal(rb.size, 0);
});

test("seeded: same seed → same samples; different seed → different samples", () => {
  const run = (seed: number) => {
    const rb = new ReplayBuffer<Ep>({ batchSize: 4, seed, maxResampleCount: Infinity });
    eps(20).forEach((e) => rb.add(e));
    return Array.from({ length: 5 }, () => rb.sample(0)![0]!.map((e) => e.id));
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

test("stateDict/loadStateDict resumes the exact sampling sequence (through JSON)", () => {
  const make = () => new ReplayBuffer<Ep>({ batchSize: 3, dpSize: 2, maxResampleCount: 1, maxPolicyAge: 3, seed: 42 });
  const a = make();
  let next = 0;
  const feed = (rb: ReplayBuffer<Ep>, version: number) => eps(4, version, next).forEach((e) => rb.add(e));
  for (let v = 0; v < 3; v++) {
    feed(a, v);
    next += 4;
    a.sample(v);
  }
  const saved = JSON.parse(JSON.stringify(a.stateDict()));
  const savedNext = next;
  // Continue the original.
  const cont: unknown[] = [];
  for (let v = 3; v < 8; v++) {
    feed(a, v);
    next += 4;
    cont.push(a.sample(v));
  }
  // Resume a fresh buffer (even one built with another seed) from the checkpoint.
  const b = new ReplayBuffer<Ep>({ batchSize: 3, dpSize: 2, maxResampleCount: 1, maxPolicyAge: 3, seed: 999 });
  b.loadStateDict(saved);
  next = savedNext;
  const resumed: unknown[] = [];
  for (let v = 3; v < 8; v++) {
    feed(b, v);
    next += 4;
    resumed.push(b.sample(v));
  }
  assert.deepEqual(resumed, cont);
  assert.deepEqual(b.metrics(), a.metrics());
});

test("options and state dicts are validated", () => {
  assert.throws(() => new ReplayBuffer({ batchSize: 0 }), (e: unknown) => e instanceof RLOptionError && /option 'batchSize' must be an integer >= 1; got 0/.test(e.message));
  assert.throws(() => new ReplayBuffer({ batchSize: 1, dpSize: 1.5 }), /dpSize/);
  assert.throws(() => new ReplayBuffer({ batchSize: 1, maxPolicyAge: -1 }), /maxPolicyAge/);
  const rb = new ReplayBuffer<Ep>({ batchSize: 1 });
  assert.throws(() => rb.add({ id: 0, policyVersion: 0.5 }), /policyVersion/);
  assert.throws(() => rb.sample(NaN), /currentPolicyVersion/);
  assert.throws(() => rb.loadStateDict({ entries: "x" } as never), (e: unknown) => e instanceof ReplayBufferStateError && /entries/.test(e.message));
  assert.throws(() => rb.loadStateDict({ entries: [{ episode: { id: 0 }, sampleCount: 0 }], rngState: 1 } as never), /entries\[0\]\.episode\.policyVersion/);
});
