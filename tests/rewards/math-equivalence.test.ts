import { test } from "node:test";
import assert from "node:assert/strict";
import {
  extractBoxed,
  extractFinalAnswer,
  isMathEquivalent,
  MathEquivalenceReward,
  normalizeLatexAnswer,
  RewardOptionError,
} from "../../src/rewards/index.ts";

// [answer, reference, equivalent?]
const TABLE: Array<[string, string, boolean]> = [
  // fractions and decimals
  ["\\frac{1}{2}", "0.5", true],
  ["\\dfrac{3}{4}", "0.75", true],
  ["\\tfrac12", "\\frac{1}{2}", true],
  ["1/2", "\\frac{1}{2}", true],
  ["\\frac{2}{4}", "\\frac{1}{2}", true],
  ["\\frac{1}{3}", "0.333", false],
  ["\\frac{1}{2}", "\\frac{1}{3}", false],
  ["-\\frac{1}{2}", "\\frac{-1}{2}", true],
  // roots and constants
  ["\\sqrt{8}", "2\\sqrt{2}", true],
  ["\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", true],
  ["\\sqrt[3]{27}", "3", true],
  ["\\sqrt{2}", "1.414", false],
  ["2\\pi", "\\pi \\cdot 2", true],
  ["\\pi", "3.14", false],
  // percentages
  ["50\\%", "50", true],
  ["50\\%", "0.5", true],
  ["50%", "50", true],
  ["50\\%", "5", false],
  // units, degrees, money
  ["5 \\text{ cm}", "5", true],
  ["12 \\mbox{ inches}", "12", true],
  ["30^\\circ", "30", true],
  ["30^{\\circ}", "31", false],
  ["\\$18", "18", true],
  ["\\$18.00", "18", true],
  ["1,000", "1000", true],
  ["7 dollars", "7", true],
  ["5cm", "5", true],
  ["12 m^2", "12", true],
  ["2m", "2", false], // tight single letters stay algebra
  ["3 \\text{ and } 5", "3, 5", true],
  ["3 \\text{ and } 5", "15", false],
  // variable prefixes
  ["x = 3", "3", true],
  ["x=-2", "-2", true],
  ["y = 2x + 1", "1 + 2x", true],
  ["x = 3", "4", false],
  // tuples, intervals, sets, lists
  ["(1, 2)", "(1,2)", true],
  ["(1, 2)", "(2, 1)", false],
  ["(1, 2)", "[1, 2]", false],
  ["[1, 2)", "[1, 2)", true],
  ["[0, \\frac{1}{2})", "[0, 0.5)", true],
  ["[0, 1)", "[0, 1]", false],
  ["(-\\infty, 3]", "(-\\infty, 3]", true],
  ["(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty,0)\\cup(1,\\infty)", true],
  ["(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty,0)\\cup[1,\\infty)", false],
  ["\\{1, 2, 3\\}", "\\{3, 2, 1\\}", true],
  ["1, 2", "2, 1", true],
  ["x = 1, x = 2", "2, 1", true],
  ["1, 2", "1, 3", false],
  ["(1, 2, 3)", "(1, 2)", false],
  ["\\left( \\frac{1}{2}, \\sqrt{4} \\right)", "(0.5, 2)", true],
  // algebraic expressions
  ["x^2+2x+1", "(x+1)^2", true],
  ["x^2+2x+1", "(x-1)^2", false],
  ["2x", "2y", false],
  ["\\frac{x}{2}", "0.5x", true],
  ["a+b", "b+a", true],
  // misc
  ["10^{3}", "1000", true],
  ["1.5 \\times 10^{3}", "1500", true],
  ["-0", "0", true],
  ["\\infty", "\\infty", true],
  ["\\infty", "-\\infty", false],
  ["\\text{(A)}", "\\text{(A)}", true],
  ["\\text{(A)}", "\\text{(B)}", false],
  ["5.", "5", true],
  ["", "0", false],
  ["\\frac{", "1", false],
  ["banana", "5", false],
  ["$\\boxed{3}$", "3", false], // isMathEquivalent compares answers, it does not extract
];

test("math equivalence table (answer, reference, expected)", () => {
  assert.ok(TABLE.length >= 30);
  const wrong = TABLE.filter(([a, b, expected]) => isMathEquivalent(a, b) !== expected);
  assert.deepEqual(wrong, [], `rows with the wrong verdict: ${JSON.stringify(wrong)}`);
});

test("equivalence is symmetric on the table", () => {
  const asymmetric = TABLE.filter(([a, b]) => isMathEquivalent(a, b) !== isMathEquivalent(b, a));
  assert.deepEqual(asymmetric, []);
});

test("answers that would stall the engine are compared as text, quickly", () => {
  const start = performance.now();
  assert.equal(isMathEquivalent("\\frac{100000!}{99999!}", "100000"), false);
  assert.equal(isMathEquivalent("100000!", "100000!"), true);
  assert.equal(isMathEquivalent("5!", "120"), true);
  assert.ok(performance.now() - start < 1_000);
});

test("tolerance options widen or narrow numeric comparison", () => {
  assert.equal(isMathEquivalent("3.14", "\\pi"), false);
  assert.equal(isMathEquivalent("3.14", "\\pi", { relativeTolerance: 1e-3 }), true);
  assert.equal(isMathEquivalent("\\frac{\\pi}{1000}", "0"), false);
  assert.equal(isMathEquivalent("\\frac{\\pi}{1000}", "0", { absoluteTolerance: 0.01 }), true);
  assert.equal(isMathEquivalent("0.001", "0", { absoluteTolerance: 0.01 }), false); // both exact: no tolerance
  assert.throws(() => isMathEquivalent("1", "1", { relativeTolerance: -1 }), RewardOptionError);
});

test("extractBoxed handles nesting, the last box, brace-less form and unclosed boxes", () => {
  assert.equal(extractBoxed("so \\boxed{\\frac{1}{\\sqrt{2}}} done"), "\\frac{1}{\\sqrt{2}}");
  assert.equal(extractBoxed("\\boxed{1} then \\boxed{2}"), "2");
  assert.equal(extractBoxed("$\\boxed 7$"), "7");
  assert.equal(extractBoxed("\\fbox{x}"), "x");
  assert.equal(extractBoxed("\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");
  assert.equal(extractBoxed("\\boxed{1"), undefined);
  assert.equal(extractBoxed("no box"), undefined);
});

test("normalizeLatexAnswer cleans notation and marks percentages", () => {
  assert.deepEqual(normalizeLatexAnswer("$\\left(3\\right)$"), { latex: "(3)", percent: false });
  assert.deepEqual(normalizeLatexAnswer("25\\%"), { latex: "25", percent: true });
  assert.deepEqual(normalizeLatexAnswer("x = \\dfrac{1}{2}."), { latex: "\\frac{1}{2}", percent: false });
  assert.deepEqual(normalizeLatexAnswer("\\text{Monday}"), { latex: "Monday", percent: false });
});

test("extractFinalAnswer prefers the answer tag in auto mode", () => {
  const r = "<think>maybe \\boxed{4}</think><answer>\\boxed{5}</answer>";
  assert.equal(extractFinalAnswer(r), "5");
  assert.equal(extractFinalAnswer(r, "boxed"), "5");
  assert.equal(extractFinalAnswer("<think>\\boxed{4}</think>"), "4");
  assert.equal(extractFinalAnswer("<think>\\boxed{4}</think>", "answer-tag"), undefined);
  assert.equal(extractFinalAnswer("<answer> 12 </answer>"), "12");
});

test("MathEquivalenceReward scores responses against boxed or plain targets", () => {
  const reward = new MathEquivalenceReward();
  assert.equal(reward.evaluate("", "The answer is $\\boxed{\\frac{1}{2}}$.", "0.5"), 1);
  assert.equal(reward.evaluate("", "The answer is $\\boxed{\\frac{1}{2}}$.", "\\boxed{\\dfrac12}"), 1);
  assert.equal(reward.evaluate("", "<answer>x = 3</answer>", "3"), 1);
  assert.equal(reward.evaluate("", "<answer>4</answer>", "3"), 0);
  assert.equal(reward.evaluate("", "I think it is 3", "3"), 0);
  assert.throws(
    () => new MathEquivalenceReward({ answerSource: "last" as never }),
    (e: unknown) => e instanceof RewardOptionError && /answerSource/.test(e.message),
  );
});

test("integers and rationals compare exactly: no relative tolerance lets a wrong answer through", () => {
  assert.equal(isMathEquivalent("1000000", "1000001"), false);
  assert.equal(isMathEquivalent("1000001", "1000001"), true);
  assert.equal(isMathEquivalent("12345678901234567890", "12345678901234567891"), false);
  assert.equal(isMathEquivalent("2^{100}", "1267650600228229401496703205377"), false);
  assert.equal(isMathEquivalent("2^{100}", "1267650600228229401496703205376"), true);
  // Tiny values that differ by a factor are different answers.
  assert.equal(isMathEquivalent("1e-12", "3e-12"), false);
  assert.equal(isMathEquivalent("10^{-12}", "3\\times10^{-12}"), false);
  assert.equal(isMathEquivalent("3\\times10^{-12}", "0.000000000003"), true);
  // A decimal is the exact number it writes (documented rule 1): a rounding of 1/3 is not 1/3.
  assert.equal(isMathEquivalent("\\frac{1}{3}", "0.3333"), false);
  assert.equal(isMathEquivalent("\\frac{1}{3}", "0.333333"), false);
  assert.equal(isMathEquivalent("\\frac{1}{4}", "0.25"), true);
  assert.equal(isMathEquivalent("2+\\frac{1}{2}", "\\frac{5}{2}"), true);
  assert.equal(isMathEquivalent("25\\%", "\\frac{1}{4}"), true);
  // Even an explicit tolerance does not loosen exact comparison.
  assert.equal(isMathEquivalent("1000000", "1000001", { relativeTolerance: 1e-3 }), false);
  // Engine-proved rationals (rule 2) are exact too.
  assert.equal(isMathEquivalent("\\sqrt{4}", "2"), true);
  assert.equal(isMathEquivalent("\\sqrt{1000002000001}", "1000000"), false);
});

test("tolerance applies where a side is irrational: a decimal is then an approximation", () => {
  assert.equal(isMathEquivalent("1.41421356237", "\\sqrt{2}"), true);
  assert.equal(isMathEquivalent("1.4142", "\\sqrt{2}"), false);
  assert.equal(isMathEquivalent("1.4142", "\\sqrt{2}", { relativeTolerance: 1e-4 }), true);
});

test("tolerance options are validated: non-negative tolerances, a positive integer maxLength", () => {
  for (const options of [{ absoluteTolerance: -1 }, { maxLength: 0 }, { maxLength: 1.5 }]) {
    assert.throws(() => isMathEquivalent("1", "1", options), RewardOptionError, JSON.stringify(options));
  }
});

test("maxLength: either side longer than it is compared as text only", () => {
  assert.equal(isMathEquivalent("1+2", "3", { maxLength: 3 }), true);
  assert.equal(isMathEquivalent("3", "1+2", { maxLength: 3 }), true);
  assert.equal(isMathEquivalent("1+2", "3", { maxLength: 2 }), false);
  assert.equal(isMathEquivalent("3", "1+2", { maxLength: 2 }), false);
  assert.equal(isMathEquivalent("1+2", "1+2", { maxLength: 2 }), true); // same text
});

test("the tolerance bound is inclusive and relative to the larger magnitude", () => {
  assert.equal(isMathEquivalent("\\sqrt{2}", "1\\cdot\\sqrt{2}", { relativeTolerance: 0, absoluteTolerance: 0 }), true);
  assert.equal(isMathEquivalent("\\pi", "2\\pi", { relativeTolerance: 0.5, absoluteTolerance: 0 }), true);
  assert.equal(isMathEquivalent("\\pi", "2\\pi", { relativeTolerance: 0.49, absoluteTolerance: 0 }), false);
});

test("free variables: sample points where both sides are undefined are skipped, one-sided ones fail", () => {
  // arcsin is undefined past 1, where the 2nd and 3rd sample points lie: only the first compares.
  assert.equal(isMathEquivalent("\\arcsin(x)", "\\arcsin(x)+0"), true);
  assert.equal(isMathEquivalent("\\arcsin(x)", "\\arcsin(x)+0.001"), false);
  // x + 0·arcsin(x) is undefined where x is not: a different domain, not equal.
  assert.equal(isMathEquivalent("x + 0\\cdot\\arcsin(x)", "x"), false);
  assert.equal(isMathEquivalent("x", "x + 0\\cdot\\arcsin(x)"), false);
  // Undefined everywhere on both sides: nothing was compared, so not equal.
  assert.equal(isMathEquivalent("\\frac{0}{0}+x", "\\frac{0}{0}+2x"), false);
});

test("free variables are sampled at fixed points (deterministic rewards): x = 0.6180339887, 1.4252135624, 2.7402818285", () => {
  // A difference that vanishes at exactly those points is not seen; one that does not is.
  assert.equal(isMathEquivalent("x", "x + (x-0.6180339887)(x-1.4252135624)(x-2.7402818285)"), true);
  assert.equal(isMathEquivalent("x", "x + (x-0.6180339887)(x-1.4252135624)(x-2.7502818285)"), false);
  // Two variables get different points (sorted by name, y = x + 0.173): y − 0.173 coincides with x, y + 0.173 does not.
  assert.equal(isMathEquivalent("y-0.173", "x"), true);
  assert.equal(isMathEquivalent("y+0.173", "x"), false);
});

test("answers that stall the engine are refused fast, others with a factorial are evaluated", () => {
  const start = performance.now();
  assert.equal(isMathEquivalent("100000!", "5"), false);
  assert.ok(performance.now() - start < 2_000);
  assert.equal(isMathEquivalent("\\frac{5!}{3!}", "20"), true);
});

test("extractFinalAnswer in boxed mode ignores answer tags; a bad answerSource names the choices", () => {
  assert.equal(extractFinalAnswer("<answer>4</answer> so \\boxed{5}", "boxed"), "5");
  assert.equal(extractFinalAnswer("<answer>4</answer> so \\boxed{5}", "auto"), "4");
  assert.throws(
    () => new MathEquivalenceReward({ answerSource: "last" as never }),
    (e: unknown) => e instanceof RewardOptionError && /"auto", "boxed", "answer-tag"/.test(e.message),
  );
});

test("grading one answer does not change how later answers are graded (the engine's inferred types are forgotten)", () => {
  // Each answer once made the shared engine type its variable as a set or boolean, after which
  // v^2+2v+1 ≢ (v+1)^2. Each uses a variable no earlier test in this file has typed.
  for (const [answer, v] of [["u \\cap y", "u"], ["v \\in \\mathbb{R}", "v"], ["w_1", "w"], ["\\max(z, 1)", "z"], ["\\neg t", "t"]]) {
    assert.equal(isMathEquivalent(answer, "1"), false, answer);
    assert.equal(isMathEquivalent(`${v}^2+2${v}+1`, `(${v}+1)^2`), true, `after ${answer}`);
    assert.equal(isMathEquivalent(`\\sqrt{${v}^2}`, v), true, `after ${answer}`);
  }
});

test("an engine error is a plain false, and an imaginary part the engine cannot give reads as 0", () => {
  // The engine throws evaluating x! at the (non-integer) sample points.
  assert.strictEqual(isMathEquivalent("x!", "1"), false);
  assert.strictEqual(isMathEquivalent("x!", "\\Gamma(x+1)"), false);
  // √(complex infinity): real part ∞, imaginary part NaN → compared as ∞ + 0i.
  assert.equal(isMathEquivalent("\\sqrt{\\tilde\\infty}", "\\infty"), true);
});
