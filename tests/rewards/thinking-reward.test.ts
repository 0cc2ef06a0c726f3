import { test } from "node:test";
import assert from "node:assert/strict";
import { RewardOptionError, ThinkingReward } from "../../src/rewards/index.ts";

const reward = new ThinkingReward();
const score = (response: string) => reward.evaluate("", response);

test("a non-empty thinking block scores the full reward", () => {
  assert.equal(score("<think>2+2=4</think><answer>4</answer>"), 1);
  assert.equal(score("<THINK>x</THINK>"), 1);
  assert.equal(score("< think >x</ think >"), 1);
  assert.equal(score("<think></think><think>content</think>"), 1);
  assert.equal(score("<think>\nmulti\nline\n</think>"), 1);
});

test("tag attempts without content score the partial reward", () => {
  assert.equal(score("<think></think>"), 0.2);
  assert.equal(score("<think>   \n </think>"), 0.2);
  assert.equal(score("<think>never closed"), 0.2);
  assert.equal(score("only a closing tag</think>"), 0.2);
});

test("no tags or an empty response scores 0", () => {
  assert.equal(score(""), 0);
  assert.equal(score("just the answer 4"), 0);
  assert.equal(score("<thinking>x</thinking>"), 0);
  assert.equal(score("<th ink>x</th ink>"), 0);
});

test("tag and reward values are configurable", () => {
  const ja = new ThinkingReward({ tag: "思考", fullReward: 2, partialReward: 0.5 });
  assert.equal(ja.evaluate("", "<思考>考える</思考>"), 2);
  assert.equal(ja.evaluate("", "<思考>"), 0.5);
  assert.equal(ja.evaluate("", "<think>x</think>"), 0);
  // Tag text is literal, not a regular expression.
  const dotted = new ThinkingReward({ tag: "a.b" });
  assert.equal(dotted.evaluate("", "<axb>x</axb>"), 0);
  assert.equal(dotted.evaluate("", "<a.b>x</a.b>"), 1);
  assert.throws(() => new ThinkingReward({ tag: "" }), RewardOptionError);
  assert.throws(() => new ThinkingReward({ tag: "<think>" }), /tag/);
});
