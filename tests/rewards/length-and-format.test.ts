import { test } from "node:test";
import assert from "node:assert/strict";
import {
  dapoOverlongPenalty,
  FormatReward,
  LengthReward,
  OverlongPenaltyReward,
  RewardInputError,
  RewardOptionError,
} from "../../src/rewards/index.ts";

test("FormatReward accepts exactly think-then-answer", () => {
  const f = new FormatReward();
  assert.equal(f.evaluate("", "<think>a</think><answer>1</answer>"), 1);
  assert.equal(f.evaluate("", "  <think>a</think>\n<answer> 1 </answer>\n"), 1);
  assert.equal(f.evaluate("", "<answer>1</answer>"), 0);
  assert.equal(f.evaluate("", "<think>a</think><answer> </answer>"), 0);
  assert.equal(f.evaluate("", "<think>a</think><answer>1</answer> trailing"), 0);
  assert.equal(f.evaluate("", "lead <think>a</think><answer>1</answer>"), 0);
  assert.equal(f.evaluate("", "<think>a</think><answer>1</answer><answer>2</answer>"), 0);
  assert.equal(f.evaluate("", "<think>a<think>b</think><answer>1</answer>"), 0);
  assert.equal(f.evaluate("", "<answer>1</answer><think>a</think>"), 0);
  const optional = new FormatReward({ think: "optional", reward: 0.5 });
  assert.equal(optional.evaluate("", "<answer>1</answer>"), 0.5);
  assert.equal(optional.evaluate("", "<think>a</think><answer>1</answer>"), 0.5);
});

test("dapoOverlongPenalty: 0, linear ramp over the buffer, then -factor", () => {
  const p = (responseTokens: number) => dapoOverlongPenalty({ responseTokens, maxTokens: 100, overlongBuffer: 20 });
  assert.equal(p(0), 0);
  assert.equal(p(80), 0);
  assert.equal(p(90), -0.5);
  assert.equal(p(85), -0.25);
  assert.equal(p(100), -1);
  assert.equal(p(150), -1);
  assert.equal(dapoOverlongPenalty({ responseTokens: 90, maxTokens: 100, overlongBuffer: 20, penaltyFactor: 2 }), -1);
  assert.equal(dapoOverlongPenalty({ responseTokens: 100, maxTokens: 100, overlongBuffer: 0 }), 0);
  assert.equal(dapoOverlongPenalty({ responseTokens: 101, maxTokens: 100, overlongBuffer: 0 }), -1);
  assert.throws(() => dapoOverlongPenalty({ responseTokens: 1, maxTokens: 10, overlongBuffer: 20 }), /overlongBuffer/);
});

test("OverlongPenaltyReward reads token counts from the context or countTokens", () => {
  const r = new OverlongPenaltyReward({ maxTokens: 10, overlongBuffer: 4 });
  assert.equal(r.evaluate("", "", "", { responseTokens: 8 }), -0.5);
  assert.throws(() => r.evaluate("", "abc", ""), (e: unknown) => e instanceof RewardInputError && /responseTokens/.test(e.message));
  const byChars = new OverlongPenaltyReward({ maxTokens: 10, overlongBuffer: 4, countTokens: (s) => s.length });
  assert.equal(byChars.evaluate("", "123456789", ""), -0.75);
  assert.throws(() => new OverlongPenaltyReward({ maxTokens: 0, overlongBuffer: 0 }), RewardOptionError);
});

test("LengthReward: full inside the range, linear slack outside", () => {
  const r = new LengthReward({ minLength: 5, maxLength: 10, slack: 4 });
  assert.equal(r.evaluate("", "12345", ""), 1);
  assert.equal(r.evaluate("", "1234567890", ""), 1);
  assert.equal(r.evaluate("", "123", ""), 0.5);
  assert.equal(r.evaluate("", "123456789012", ""), 0.5);
  assert.equal(r.evaluate("", "", ""), 0);
  const step = new LengthReward({ maxLength: 3 });
  assert.equal(step.evaluate("", "abcd", ""), 0);
  const tokens = new LengthReward({ maxLength: 3, unit: "tokens" });
  assert.equal(tokens.evaluate("", "long text", "", { responseTokens: 2 }), 1);
  assert.throws(() => tokens.evaluate("", "x", ""), RewardInputError);
  assert.throws(() => new LengthReward({ minLength: 5, maxLength: 2 }), /maxLength/);
  assert.throws(() => new LengthReward({ unit: "words" as never }), /unit/);
});
