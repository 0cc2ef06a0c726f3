// Option checks and edge inputs of the reward classes: checkNumberOption's bounds and messages,
// tag names, the length rewards' option bounds, number parsing (leading-dot decimals, anchored
// inf/nan, cleaning, integer formatting), MathReward's partial credit (answers with spaces are
// removed first; never for an infinite target), RewardSet's member checks, rewardName, and
// ThinkingReward on a missing response.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNumberOption, checkTagOption } from "../../src/rewards/validate.ts";
import {
  cleanNumberText,
  dapoOverlongPenalty,
  formatTargetNumber,
  LengthReward,
  MathReward,
  OverlongPenaltyReward,
  parseNumber,
  RewardOptionError,
  rewardName,
  RewardSet,
  ThinkingReward,
} from "../../src/rewards/index.ts";

const refused = (f: () => unknown, option: string) => assert.throws(f, (e: unknown) => e instanceof RewardOptionError && e.option === option, `expected a RewardOptionError for ${option}`);

test("checkNumberOption: finite, bounds inclusive unless exclusiveMin, integers; the message states the rule", () => {
  assert.equal(checkNumberOption("x", 1, { max: 1 }), 1);
  assert.equal(checkNumberOption("x", 0, { min: 0 }), 0);
  refused(() => checkNumberOption("x", 0, { min: 0, exclusiveMin: true }), "x");
  refused(() => checkNumberOption("x", Infinity), "x");
  refused(() => checkNumberOption("x", Number.NaN), "x");
  refused(() => checkNumberOption("x", 1.5, { integer: true }), "x");
  assert.equal(checkNumberOption("x", 2, { integer: true }), 2);
  const expected = (rule: Parameters<typeof checkNumberOption>[2], value: number) => {
    try {
      checkNumberOption("x", value, rule);
    } catch (e) {
      return (e as RewardOptionError).expected;
    }
    return "accepted";
  };
  assert.equal(expected({}, Infinity), "a finite number");
  assert.equal(expected({ min: 0 }, -1), "a finite number >= 0");
  assert.equal(expected({ min: 0, exclusiveMin: true }, 0), "a finite number > 0");
  assert.equal(expected({ max: 2 }, 3), "a finite number <= 2");
  assert.equal(expected({ min: 1, max: 2, integer: true }, 1.5), "an integer >= 1 <= 2");
});

test("checkTagOption refuses non-strings, blank names and angle brackets", () => {
  assert.equal(checkTagOption("tag", "think"), "think");
  refused(() => checkTagOption("tag", 5 as never), "tag");
  refused(() => checkTagOption("tag", "  "), "tag");
  refused(() => checkTagOption("tag", "a>b"), "tag");
});

test("length rewards: option bounds", () => {
  const base = { responseTokens: 5, maxTokens: 10, overlongBuffer: 4 };
  refused(() => dapoOverlongPenalty({ ...base, responseTokens: -1 }), "responseTokens");
  refused(() => dapoOverlongPenalty({ ...base, maxTokens: 0, overlongBuffer: 0 }), "maxTokens");
  refused(() => dapoOverlongPenalty({ ...base, maxTokens: -5, overlongBuffer: 0 }), "maxTokens");
  refused(() => dapoOverlongPenalty({ ...base, penaltyFactor: -1 }), "penaltyFactor");
  assert.equal(dapoOverlongPenalty({ ...base, responseTokens: 8, penaltyFactor: 0 }), -0);
  refused(() => new OverlongPenaltyReward({ maxTokens: 0, overlongBuffer: 0 }), "maxTokens");
  refused(() => new OverlongPenaltyReward({ maxTokens: 10, overlongBuffer: -1 }), "overlongBuffer");
  refused(() => new OverlongPenaltyReward({ maxTokens: 10, overlongBuffer: 11 }), "overlongBuffer");
  refused(() => new OverlongPenaltyReward({ maxTokens: 10, overlongBuffer: 2, penaltyFactor: -1 }), "penaltyFactor");
  refused(() => new LengthReward({ minLength: -1 }), "minLength");
  refused(() => new LengthReward({ slack: -1 }), "slack");
  refused(() => new LengthReward({ minLength: 5, maxLength: 4 }), "maxLength");
});

test("parseNumber and its helpers", () => {
  for (const [text, want] of [[".12", 0.12], ["-.25", -0.25], [".5e3", 500], ["1_000.5", 1000.5], ["1e-3", 0.001], ["3.", 3], ["2E+2", 200], [".1_2", 0.12], ["1e10", 1e10], ["2.5e-12", 2.5e-12]] as const) {
    assert.equal(parseNumber(text), want, text);
  }
  assert.equal(parseNumber("inf"), Infinity);
  assert.equal(parseNumber("+Infinity"), Infinity);
  assert.equal(parseNumber("-inf"), -Infinity);
  assert.ok(Number.isNaN(parseNumber("NaN")!));
  for (const bad of ["xinf", "infx", "nanx", "-xnan", "1__0", ".", "1e"]) assert.equal(parseNumber(bad), undefined, bad);
  assert.equal(cleanNumberText(" $1,234 5 "), "12345");
  assert.equal(formatTargetNumber(1e21), "1000000000000000000000");
  assert.equal(formatTargetNumber(2.5), "2.5");
});

test("MathReward: partial credit ignores every answer block (also ones with spaces) and never applies to an infinite target", () => {
  const r = new MathReward();
  assert.equal(r.evaluate("", "<answer>7 apples</answer>", "7"), 0);
  assert.equal(r.evaluate("", "I think 7. <answer>8</answer>", "7"), 0.1);
  assert.equal(r.evaluate("", "Infinity <answer>1</answer>", "inf"), 0);
  assert.equal(r.evaluate("", "NaN <answer>1</answer>", "nan"), 0);
});

test("RewardSet: a non-empty rewards array of functions or objects with evaluate(); sum allows weights summing to 0", () => {
  const f = () => 1;
  refused(() => new RewardSet(undefined as never), "rewards");
  refused(() => new RewardSet({ rewards: "f" as never }), "rewards");
  refused(() => new RewardSet({ rewards: [] }), "rewards");
  for (const bad of [42, "x", null, undefined, {}, { evaluate: 5 }]) refused(() => new RewardSet({ rewards: [bad as never] }), "rewards[0]");
  const sum = new RewardSet({ rewards: [{ reward: f, weight: 1, name: "a" }, { reward: f, weight: -1, name: "b" }], aggregation: "sum" });
  assert.equal(sum.aggregation, "sum");
  refused(() => new RewardSet({ rewards: [{ reward: f, weight: 1, name: "a" }, { reward: f, weight: -1, name: "b" }] }), "rewards[].weight");
});

test("rewardName: only a non-empty string name counts", () => {
  assert.equal(rewardName({ name: "m", evaluate: () => 1 }), "m");
  assert.equal(rewardName({ name: ["m"] as never, evaluate: () => 1 }), undefined);
  assert.equal(rewardName({ name: "", evaluate: () => 1 }), undefined);
});

test("ThinkingReward: a missing response scores 0", () => {
  assert.equal(new ThinkingReward().evaluate("", undefined as never), 0);
  assert.equal(new ThinkingReward().evaluate("", ""), 0);
});

test("RewardSet timeouts on a controlled clock: the timer firing is a timeout whatever the clock says; a value at exactly timeoutMs counts", async (t) => {
  let now = 0;
  t.mock.method(performance, "now", () => now);
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const input = { prompt: "", response: "", target: "" };
  // The timer fires while the clock still reads 0 ms elapsed.
  const never = new RewardSet({ rewards: [{ reward: () => new Promise<number>(() => {}), name: "never" }], timeoutMs: 1000 });
  const pending = never.evaluate(input);
  await Promise.resolve();
  t.mock.timers.tick(1000);
  const timedOut = await pending;
  assert.deepEqual(timedOut.failures.map((f) => f.kind), ["timeout"]);
  // A value that arrives when exactly timeoutMs have passed (the timer not yet run) is kept.
  let settle!: (v: number) => void;
  const edge = new RewardSet({ rewards: [{ reward: () => new Promise<number>((r) => (settle = r)), name: "edge" }], timeoutMs: 1000 });
  const result = edge.evaluate(input);
  await Promise.resolve();
  now = 1000;
  settle(0.5);
  const kept = await result;
  assert.deepEqual(kept.failures, []);
  assert.equal(kept.reward, 0.5);
});
