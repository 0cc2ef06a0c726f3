// The LaTeX answer checker against a known-answer table computed in Python from hand-stated meanings
// (Fraction / sympy values), not from this code: tests/fixtures/rewards/make-math-known-answers.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { exactRational } from "../../src/rewards/exact-rational.ts";
import { extractBoxed, normalizeLatexAnswer } from "../../src/rewards/latex-answer.ts";
import { isMathEquivalent } from "../../src/rewards/math-equivalence.ts";

interface Table {
  exactRational: { latex: string; value: string | null }[];
  normalize: { input: string; latex: string; percent: boolean }[];
  equivalent: { answer: string; reference: string; equivalent: boolean }[];
  extractBoxed: { text: string; boxed: string | null }[];
}
const table = JSON.parse(readFileSync(new URL("../fixtures/rewards/math-known-answers.json", import.meta.url), "utf8")) as Table;

test("exactRational matches the Fraction each arithmetic string denotes, and refuses what the grammar excludes", () => {
  assert.ok(table.exactRational.length >= 50);
  const wrong = table.exactRational.filter(({ latex, value }) => {
    const r = exactRational(latex);
    return (r === undefined ? null : `${r.n}/${r.d}`) !== value;
  });
  assert.deepEqual(wrong, []);
});

test("normalizeLatexAnswer gives the cleaned notation and percent flag of the table", () => {
  assert.ok(table.normalize.length >= 50);
  const wrong = table.normalize
    .map((row) => ({ ...row, got: normalizeLatexAnswer(row.input) }))
    .filter(({ latex, percent, got }) => got.latex !== latex || got.percent !== percent);
  assert.deepEqual(wrong, []);
});

test("isMathEquivalent agrees with the meanings' comparison, both ways round", () => {
  assert.ok(table.equivalent.length >= 60);
  assert.ok(table.equivalent.some((r) => r.equivalent) && table.equivalent.some((r) => !r.equivalent));
  const wrong = table.equivalent.filter(({ answer, reference, equivalent }) => isMathEquivalent(answer, reference) !== equivalent);
  assert.deepEqual(wrong, []);
  const asymmetric = table.equivalent.filter(({ answer, reference, equivalent }) => isMathEquivalent(reference, answer) !== equivalent);
  assert.deepEqual(asymmetric, []);
});

test("extractBoxed finds the last box's content as the table says", () => {
  const wrong = table.extractBoxed.filter(({ text, boxed }) => (extractBoxed(text) ?? null) !== boxed);
  assert.deepEqual(wrong, []);
});
