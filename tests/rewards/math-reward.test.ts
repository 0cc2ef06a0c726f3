import { test } from "node:test";
import assert from "node:assert/strict";
import { MathReward, parseNumber, RewardOptionError } from "../../src/rewards/index.ts";

const reward = new MathReward();
const score = (response: string, target: string) => reward.evaluate("", response, target);

test("a correct number in the first answer block scores 1", () => {
  assert.equal(score("<answer>42</answer>", "42"), 1);
  assert.equal(score("<think>6*7</think> <answer> 42 </answer>", "42"), 1);
  assert.equal(score("<answer>42.0</answer>", "42"), 1);
  assert.equal(score("<answer>\n4 2\n</answer>", "42"), 1); // whitespace is stripped, as in torchforge
  assert.equal(score("<answer>$1,234</answer>", "1234"), 1);
  assert.equal(score("<answer>1234</answer>", "$1,234"), 1);
  assert.equal(score("<answer>-3.5</answer>", "-3.5"), 1);
  assert.equal(score("<answer>1e3</answer>", "1000"), 1);
  assert.equal(score("<answer>.5</answer>", "0.5"), 1);
});

test("only the first answer block counts", () => {
  assert.equal(score("<answer>41</answer><answer>42</answer>", "42"), 0);
  assert.equal(score("<answer>42</answer><answer>41</answer>", "42"), 1);
});

test("tolerance is exclusive and configurable", () => {
  assert.equal(score("<answer>42.0000001</answer>", "42"), 1);
  assert.equal(score("<answer>42.01</answer>", "42"), 0);
  const loose = new MathReward({ tolerance: 0.1 });
  assert.equal(loose.evaluate("", "<answer>42.05</answer>", "42"), 1);
  assert.equal(new MathReward({ tolerance: 1 }).evaluate("", "<answer>43</answer>", "42"), 0);
});

test("partial credit when the target appears outside the answer block", () => {
  assert.equal(score("<think>so it is 42</think><answer>41</answer>", "42"), 0.1);
  assert.equal(score("the answer is 42", "42"), 0.1);
  assert.equal(score("<answer>abc</answer> 42", "42"), 0.1);
  // Inside an answer block it does not count as "elsewhere".
  assert.equal(score("<answer>41</answer><answer>42</answer>", "42"), 0);
  // Integers are searched without ".0"; substrings count (torchforge's plain `in`).
  assert.equal(score("<answer>7</answer> 117 apples", "17.0"), 0.1);
  assert.equal(score("3.5 is close", "3.5"), 0.1);
  assert.equal(new MathReward({ partialCredit: 0 }).evaluate("", "42", "42"), 0);
});

test("zero for wrong, missing or unparsable answers and non-numeric targets", () => {
  assert.equal(score("<answer>41</answer>", "42"), 0);
  assert.equal(score("", "42"), 0);
  assert.equal(score("<answer>forty-two</answer>", "42"), 0);
  assert.equal(score("<answer>42", "42"), 0.1); // unclosed tag: no answer block, but 42 appears
  assert.equal(score("<answer>42</answer>", "forty-two"), 0);
  assert.equal(score("<answer>42</answer>", ""), 0);
  assert.equal(score("<answer>nan</answer>", "nan"), 0);
  assert.equal(score("<answer>0x2A</answer>", "42"), 0); // Python float() rejects hex
});

test("parseNumber follows Python float() after cleaning", () => {
  assert.equal(parseNumber(" $1,000.50 "), 1000.5);
  assert.equal(parseNumber("1_000"), 1000);
  assert.equal(parseNumber("-inf"), -Infinity);
  assert.ok(Number.isNaN(parseNumber("NaN")));
  assert.equal(parseNumber("5."), 5);
  assert.equal(parseNumber(""), undefined);
  assert.equal(parseNumber("1__0"), undefined);
  assert.equal(parseNumber("0b1"), undefined);
  assert.equal(parseNumber("1/2"), undefined);
});

test("invalid options are rejected with the option name", () => {
  assert.throws(() => new MathReward({ tolerance: -1 }), (e: unknown) => e instanceof RewardOptionError && /tolerance/.test(e.message));
  assert.throws(() => new MathReward({ partialCredit: Number.NaN }), /partialCredit/);
});
