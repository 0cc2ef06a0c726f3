// exactRational against Python's fractions.Fraction (values below printed by
// `python3 -c "from fractions import Fraction as F; print(F(1,2) - F(3,4), ...)"`): subtraction,
// negative denominators, division, negative and positive integer powers, exact decimals,
// left-associative - and /; refusals: division by zero, oversized or fractional exponents.
import { test } from "node:test";
import assert from "node:assert/strict";
import { exactRational } from "../../src/rewards/exact-rational.ts";

const cases: [string, string][] = [
  ["1/2 - 3/4", "-1/4"],
  ["2 - 5", "-3/1"],
  ["\\frac{1}{3} + \\frac{1}{6}", "1/2"],
  ["\\frac{3}{-4}", "-3/4"],
  ["6 \\div (1/2)", "12/1"],
  ["(2/3)^{-2}", "9/4"],
  ["2^{3}", "8/1"],
  ["1.25e-3", "1/800"],
  ["0.5 \\times 4 - 1", "1/1"],
  ["-(1 - 3)/4", "1/2"],
  ["10 - 2 - 3", "5/1"],
  ["12/3/2", "2/1"],
];

test("exactRational matches Python's Fraction", () => {
  for (const [latex, want] of cases) {
    const r = exactRational(latex);
    assert.ok(r, `${latex} should be rational`);
    assert.equal(`${r.n}/${r.d}`, want, latex);
  }
});

test("exactRational refuses division by zero and unsupported exponents", () => {
  for (const latex of ["1/0", "\\frac{2}{0}", "2^{1001}", "2^{1/2}", "(1/2)^{-1001}", "x + 1"]) assert.equal(exactRational(latex), undefined, latex);
  assert.equal(exactRational("2^{1000}")?.n, 2n ** 1000n);
});
