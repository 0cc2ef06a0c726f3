// Edge cases of the LaTeX answer helpers that the known-answer table (math-known-answers.test.ts)
// reaches only through whole answers: bracket splitting, the variable prefix, box extraction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { extractBoxed, normalizeLatexAnswer, splitTopLevel, stripVariablePrefix } from "../../src/rewards/latex-answer.ts";

test("splitTopLevel splits only at bracket depth 0 and trims the parts", () => {
  assert.deepEqual(splitTopLevel("1, 2", ","), ["1", "2"]);
  assert.deepEqual(splitTopLevel("(1, 2), 3", ","), ["(1, 2)", "3"]);
  assert.deepEqual(splitTopLevel("[1, 2], 3", ","), ["[1, 2]", "3"]);
  assert.deepEqual(splitTopLevel("{1, 2}, 3", ","), ["{1, 2}", "3"]);
  assert.deepEqual(splitTopLevel("({1}, 2), 3", ","), ["({1}, 2)", "3"]); // a bracket right before a brace
  // `}{` between a fraction's arguments neither opens nor closes anything.
  assert.deepEqual(splitTopLevel("\\frac{1}{2}, \\frac{3}{4}", ","), ["\\frac{1}{2}", "\\frac{3}{4}"]);
  // An escaped brace opens or closes like a bracket, also around other brackets.
  assert.deepEqual(splitTopLevel("\\{1\\}, 2", ","), ["\\{1\\}", "2"]);
  assert.deepEqual(splitTopLevel("\\{(1, 2)\\}, 3", ","), ["\\{(1, 2)\\}", "3"]);
  // The character right after a separator is still read: a bracket there counts, a separator there splits.
  assert.deepEqual(splitTopLevel("a,(b,c)", ","), ["a", "(b,c)"]);
  assert.deepEqual(splitTopLevel("1,,2", ","), ["1", "", "2"]);
  assert.deepEqual(splitTopLevel("(0,1)\\cup(2,3)\\cup(4,5)", "\\cup"), ["(0,1)", "(2,3)", "(4,5)"]);
});

test("splitTopLevel reads an escaped brace as one bracket token, never as a separator", () => {
  assert.deepEqual(splitTopLevel("a\\{b\\}c", "\\{"), ["a\\{b\\}c"]);
  assert.deepEqual(splitTopLevel("a\\}b", "\\}"), ["a\\}b"]);
});

test("stripVariablePrefix drops only a single-symbol left side", () => {
  assert.equal(stripVariablePrefix("x = 5 "), "5");
  assert.equal(stripVariablePrefix("\\theta=\\pi"), "\\pi");
  assert.equal(stripVariablePrefix("x_1 = 5"), "5");
  assert.equal(stripVariablePrefix("x_{12} = 5"), "5");
  assert.equal(stripVariablePrefix("x =\n1 + 2"), "1 + 2");
  for (const kept of ["2x = 6", "ab = 3", "x = y = 3", "x + 1 = 2", "\\frac{1}{2} = 0.5"]) assert.equal(stripVariablePrefix(kept), kept);
});

test("extractBoxed skips space before the brace and trims both forms", () => {
  assert.equal(extractBoxed("\\boxed {5}"), "5");
  assert.equal(extractBoxed("\\boxed{ 5 }"), "5");
  assert.equal(extractBoxed("$\\boxed 5 $"), "5");
  assert.equal(extractBoxed("$\\boxed$"), undefined);
  assert.equal(extractBoxed("\\boxed{a\\{b}"), "a\\{b");
  assert.equal(extractBoxed("\\boxed{a\\}b}"), "a\\}b");
});

test("normalizeLatexAnswer: delimiters only at the ends, percent only at the end, spaces collapsed", () => {
  assert.equal(normalizeLatexAnswer(" \\[ 5 \\] ").latex, "5");
  assert.equal(normalizeLatexAnswer("\\[1\\]\\[2\\]").latex, "1\\]\\[2");
  assert.equal(normalizeLatexAnswer("\\(1\\)\\(2\\)").latex, "1\\)\\(2");
  assert.deepEqual(normalizeLatexAnswer("50\\% of 20"), { latex: "50\\% of 20", percent: false });
  assert.deepEqual(normalizeLatexAnswer("50 percent"), { latex: "50", percent: true });
  assert.equal(normalizeLatexAnswer("x  +\t 1").latex, "x + 1");
  assert.equal(normalizeLatexAnswer("\\text{ 1,000 }").latex, "1000");
});
