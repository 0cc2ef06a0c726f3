import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MathEquivalenceReward, MathReward } from "../../src/rewards/index.ts";
import { gsm8kDir, gsm8kMissing } from "../fixtures/datasets.ts";

const DIR = gsm8kDir();
const FILE = `${DIR}/test.jsonl`;
const LIMIT = 300; // enough to cover the answer formats, fast enough for CI

function loadAnswers(): Array<{ question: string; solution: string; final: string }> {
  return readFileSync(FILE, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(0, LIMIT)
    .map((line) => {
      const { question, answer } = JSON.parse(line) as { question: string; answer: string };
      const [solution, final] = answer.split("####");
      return { question, solution: solution.trim(), final: final.trim() };
    });
}

test("rewards on real GSM8K answers", (t) => {
  const missing = gsm8kMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const math = new MathReward();
  const equivalence = new MathEquivalenceReward();
  const rows = loadAnswers();
  assert.equal(rows.length, LIMIT);
  for (const { question, solution, final } of rows) {
    const correct = `<think>${solution}</think><answer>${final}</answer>`;
    assert.equal(math.evaluate(question, correct, final), 1, `MathReward on ${final}`);
    assert.equal(equivalence.evaluate(question, correct, final), 1, `MathEquivalenceReward on ${final}`);
    // Formatted as money with thousands separators it is still correct.
    const n = Number(final.replace(/,/g, ""));
    const money = `<answer>$${n.toLocaleString("en-US")}</answer>`;
    assert.equal(math.evaluate(question, money, final), 1, `MathReward on ${money}`);

    // A wrong answer earns partial credit exactly when the target appears in the reasoning.
    const wrong = `<think>${solution}</think><answer>${n + 1}</answer>`;
    const expected = solution.includes(String(n)) ? 0.1 : 0;
    assert.equal(math.evaluate(question, wrong, final), expected, `partial credit on ${final}`);
    assert.equal(equivalence.evaluate(question, wrong, final), 0);
    // The boxed LaTeX style is scored by the equivalence reward.
    assert.equal(equivalence.evaluate(question, `So the answer is $\\boxed{${final}}$.`, final), 1);
  }
});
