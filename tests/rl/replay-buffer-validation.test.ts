// ReplayBuffer rejects bad options and malformed state dicts with errors naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayBuffer, ReplayBufferStateError, RLOptionError } from "../../src/rl/index.ts";

type Ep = { policyVersion: number };

test("options: integers ≥ min; Infinity only where the option allows it; no fractions even there", () => {
  for (const [opts, field] of [
    [{ batchSize: Infinity }, "batchSize"],
    [{ batchSize: 2, dpSize: Infinity }, "dpSize"],
    [{ batchSize: 2, seed: Infinity }, "seed"],
    [{ batchSize: 2, maxPolicyAge: 1.5 }, "maxPolicyAge"],
    [{ batchSize: 2, maxResampleCount: -1 }, "maxResampleCount"],
    [{ batchSize: 2, maxBufferSize: 0.5 }, "maxBufferSize"],
    [{ batchSize: 0 }, "batchSize"],
  ] as const) {
    assert.throws(() => new ReplayBuffer<Ep>(opts), (e: unknown) => e instanceof RLOptionError && e.message.includes(`'${field}'`), JSON.stringify(opts));
  }
  const b = new ReplayBuffer<Ep>({ batchSize: 2, maxPolicyAge: Infinity, maxResampleCount: Infinity, maxBufferSize: Infinity });
  assert.equal(b.maxPolicyAge, Infinity);
});

test("loadStateDict rejects what stateDict() cannot have produced, naming the field", () => {
  const b = new ReplayBuffer<Ep>({ batchSize: 1 });
  const good = { entries: [{ episode: { policyVersion: 0 }, sampleCount: 0 }], rngState: 1, counters: {} };
  const cases: [unknown, RegExp][] = [
    [null, /\(root\)/],
    ["state", /\(root\)/],
    [{ ...good, entries: "x" }, /entries/],
    [{ ...good, entries: [null] }, /entries\[0\]\.sampleCount/],
    [{ ...good, entries: ["x"] }, /entries\[0\]\.sampleCount/],
    [{ ...good, entries: [{ episode: { policyVersion: 0 }, sampleCount: 1.5 }] }, /entries\[0\]\.sampleCount/],
    [{ ...good, entries: [{ episode: { policyVersion: 0 } }] }, /entries\[0\]\.sampleCount/],
    [{ ...good, entries: [good.entries[0], { episode: { policyVersion: 0 }, sampleCount: -1 }] }, /entries\[1\]\.sampleCount/],
    [{ ...good, entries: [{ episode: { policyVersion: "1" }, sampleCount: 0 }] }, /entries\[0\]\.episode\.policyVersion/],
    [{ ...good, rngState: 0.5 }, /rngState/],
    [{ ...good, rngState: undefined }, /rngState/],
  ];
  for (const [state, re] of cases) {
    assert.throws(() => b.loadStateDict(state as never), (e: unknown) => e instanceof ReplayBufferStateError && re.test(e.message), JSON.stringify(state));
  }
  assert.equal(b.size, 0, "a rejected state leaves the buffer as it was");
  b.loadStateDict(good as never);
  assert.equal(b.size, 1);
});
