import { test } from "node:test";
import assert from "node:assert/strict";
import { MathReward, RewardOptionError, RewardSet, ThinkingReward, type RewardFunction } from "../../src/rewards/index.ts";

const input = { prompt: "What is 2+2?", response: "<think>2+2</think><answer>4</answer>", target: "4" };

test("mean of several rewards with a per-function breakdown", async () => {
  const set = new RewardSet({ rewards: [new MathReward(), new ThinkingReward(), () => 0] });
  const result = await set.evaluate({ ...input, response: "<think></think><answer>4</answer>" });
  assert.deepEqual(result.breakdown, { MathReward: 1, ThinkingReward: 0.2, reward2: 0 });
  assert.ok(Math.abs(result.reward - 1.2 / 3) < 1e-12);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(Object.keys(result.durationsMs), ["MathReward", "ThinkingReward", "reward2"]);
});

test("weights, names, sum aggregation and async rewards", async () => {
  const half: RewardFunction = async () => 0.5;
  const mean = new RewardSet({
    rewards: [
      { reward: new MathReward(), weight: 3 },
      { reward: half, name: "half", weight: 1 },
    ],
  });
  const r = await mean.evaluate(input);
  assert.equal(r.reward, (3 * 1 + 0.5) / 4);
  assert.deepEqual(r.breakdown, { MathReward: 1, half: 0.5 });
  const sum = new RewardSet({ rewards: [{ reward: new MathReward(), weight: 2 }, half], aggregation: "sum" });
  assert.equal((await sum.evaluate(input)).reward, 2.5);
  assert.deepEqual(sum.names, ["MathReward", "half"]);
});

test("a throwing reward is a recorded failure scoring 0, not a crash", async () => {
  function broken(): number {
    throw new TypeError("boom");
  }
  const rejecting: RewardFunction = async () => {
    throw new Error("async boom");
  };
  const set = new RewardSet({ rewards: [new MathReward(), broken, { reward: rejecting, name: "rejecting" }] });
  const r = await set.evaluate(input);
  assert.deepEqual(r.breakdown, { MathReward: 1, broken: 0, rejecting: 0 });
  assert.equal(r.reward, 1 / 3);
  assert.deepEqual(
    r.failures.map((f) => [f.reward, f.kind]),
    [
      ["broken", "error"],
      ["rejecting", "error"],
    ],
  );
  assert.match(r.failures[0].message, /broken.*TypeError: boom/);
  assert.ok(r.failures[0].cause instanceof TypeError);
});

test("a slow async reward times out, is aborted and recorded", async () => {
  let aborted = false;
  const slow: RewardFunction = (_p, _r, _t, context) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(1), 5_000);
      context?.signal?.addEventListener("abort", () => {
        aborted = true;
        clearTimeout(timer);
      });
    });
  const set = new RewardSet({ rewards: [new MathReward(), { reward: slow, name: "slow" }], timeoutMs: 30 });
  const start = performance.now();
  const r = await set.evaluate(input);
  assert.ok(performance.now() - start < 2_000);
  assert.equal(aborted, true);
  assert.deepEqual(r.breakdown, { MathReward: 1, slow: 0 });
  assert.equal(r.failures[0].kind, "timeout");
  assert.match(r.failures[0].message, /slow.*timeoutMs=30/);
});

test("a synchronous reward that overruns is recorded as a timeout after it returns", async () => {
  const busy: RewardFunction = () => {
    const end = performance.now() + 25;
    while (performance.now() < end);
    return 1;
  };
  const r = await new RewardSet({ rewards: [{ reward: busy, name: "busy" }], timeoutMs: 5 }).evaluate(input);
  assert.deepEqual(r.breakdown, { busy: 0 });
  assert.equal(r.failures[0].kind, "timeout");
});

test("non-finite or non-number values are invalid-value failures; failureValue applies", async () => {
  const nan: RewardFunction = () => Number.NaN;
  const str = (() => "1") as unknown as RewardFunction;
  const set = new RewardSet({ rewards: [{ reward: nan, name: "nan" }, { reward: str, name: "str" }], failureValue: -1 });
  const r = await set.evaluate(input);
  assert.deepEqual(r.breakdown, { nan: -1, str: -1 });
  assert.equal(r.reward, -1);
  assert.deepEqual(r.failures.map((f) => f.kind), ["invalid-value", "invalid-value"]);
});

test("evaluateBatch keeps input order and passes responseTokens through", async () => {
  const tokens: RewardFunction = (_p, _r, _t, context) => context?.responseTokens ?? -1;
  const set = new RewardSet({ rewards: [{ reward: tokens, name: "tokens" }] });
  const results = await set.evaluateBatch([
    { ...input, responseTokens: 3 },
    { ...input, responseTokens: 7 },
    input,
  ]);
  assert.deepEqual(results.map((r) => r.reward), [3, 7, -1]);
});

test("construction errors name the offending option", () => {
  assert.throws(() => new RewardSet({ rewards: [] }), (e: unknown) => e instanceof RewardOptionError && /rewards/.test(e.message));
  assert.throws(() => new RewardSet({ rewards: [new MathReward(), new MathReward()] }), /rewards\[1\]\.name/);
  assert.throws(() => new RewardSet({ rewards: [{ reward: () => 1, weight: Number.NaN }] }), /rewards\[0\]\.weight/);
  assert.throws(() => new RewardSet({ rewards: [() => 1], timeoutMs: 0 }), /timeoutMs/);
  assert.throws(() => new RewardSet({ rewards: [() => 1], aggregation: "max" as never }), /aggregation/);
  assert.throws(() => new RewardSet({ rewards: [42 as never] }), /rewards\[0\]/);
  assert.throws(() => new RewardSet({ rewards: [{ reward: () => 1, weight: 0 }] }), /weight/);
});
