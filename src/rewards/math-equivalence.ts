/**
 * Mathematical equivalence of two final answers written in LaTeX, for MATH-style grading:
 * `\frac{1}{2}` ≡ `0.5`, `\sqrt{8}` ≡ `2\sqrt{2}`, `x = 3` ≡ `3`, `50\%` ≡ `50` ≡ `0.5`,
 * `(1, 2)` ≡ `(1,2)` but not `[1, 2]`, `x^2+2x+1` ≡ `(x+1)^2`.
 *
 * Strategy: notation is cleaned by `normalizeLatexAnswer`; tuples, intervals, sets and unions are
 * compared part by part. Each scalar is compared by the first rule that applies:
 *
 * 1. EXACT — both sides are plain rational arithmetic (integers, fractions, written-out decimals,
 *    `a\times10^{k}`; see `exact-rational.ts`): compared as exact rationals, no tolerance. So
 *    1000000 ≠ 1000001, 1e-12 ≠ 3e-12, 0.5 ≡ \frac{1}{2}, and a decimal is the number it writes:
 *    0.3333 ≠ \frac{1}{3} (a rounded answer to a rational question is wrong).
 * 2. EXACT (engine) — the compute engine (`@cortex-js/compute-engine`) evaluates both to rationals
 *    (e.g. \sqrt{4} vs 2): compared for exact equality of their double values.
 * 3. TOLERANCE — otherwise a side is irrational or symbolic (√2, π, logs), so any decimal is an
 *    approximation: both are evaluated numerically and compared within `relativeTolerance` /
 *    `absoluteTolerance`. Expressions with free variables are compared this way at fixed sample
 *    points (deterministic, no randomness).
 *
 * Anything the engine cannot parse falls back to exact string equality of the normalised text, so
 * the check is conservative. It does not prove identities symbolically, and does not compare
 * equations (`y = 2x` vs `2x = y`). In rule 3 the engine rounds magnitudes below about 1e-10 to 0.
 */
import { ComputeEngine } from "@cortex-js/compute-engine";
import { exactRational, rational, rationalEquals, type Rational } from "./exact-rational.ts";
import { extractBoxed, normalizeLatexAnswer, splitTopLevel, type NormalizedAnswer } from "./latex-answer.ts";
import type { Reward } from "./reward.ts";
import { RewardOptionError } from "./errors.ts";
import { checkNumberOption } from "./validate.ts";

export interface MathEquivalenceOptions {
  /** Relative tolerance where a side is irrational/symbolic (rule 3; exact rationals use none). @default 1e-6 */
  relativeTolerance?: number;
  /** Absolute tolerance where a side is irrational/symbolic (rule 3; matters near 0). @default 1e-9 */
  absoluteTolerance?: number;
  /** Answers longer than this (after normalisation) are only compared as strings, to bound CAS time. @default 400 */
  maxLength?: number;
}

interface Tolerance {
  rel: number;
  abs: number;
  maxLength: number;
}

let engine: ComputeEngine | undefined;
// One engine for the process: creating it is the expensive part, parsing is cheap.
function computeEngine(): ComputeEngine {
  engine ??= new ComputeEngine();
  return engine;
}

function resolveTolerance(options: MathEquivalenceOptions): Tolerance {
  return {
    rel: checkNumberOption("relativeTolerance", options.relativeTolerance ?? 1e-6, { min: 0 }),
    abs: checkNumberOption("absoluteTolerance", options.absoluteTolerance ?? 1e-9, { min: 0 }),
    maxLength: checkNumberOption("maxLength", options.maxLength ?? 400, { min: 1, integer: true }),
  };
}

/** True when `answer` and `reference` denote the same mathematical value (see module doc). */
export function isMathEquivalent(answer: string, reference: string, options: MathEquivalenceOptions = {}): boolean {
  return equivalent(normalizeLatexAnswer(answer), normalizeLatexAnswer(reference), resolveTolerance(options));
}

function equivalent(a: NormalizedAnswer, b: NormalizedAnswer, tol: Tolerance): boolean {
  if (a.latex === "" || b.latex === "") return false;
  if (a.latex === b.latex) return true;
  if (a.latex.length > tol.maxLength || b.latex.length > tol.maxLength) return false;
  if (tooExpensive(a.latex) || tooExpensive(b.latex)) return false;
  const sa = structureOf(a.latex);
  const sb = structureOf(b.latex);
  if (sa.kind === "scalar" && sb.kind === "scalar") return scalarsEqual(a, b, tol);
  return structuresEqual(sa, sb, tol);
}

/**
 * The engine evaluates exactly and synchronously: `100000!` takes seconds and would stall every
 * other reward. A factorial next to a 4+ digit number is compared as text only.
 */
function tooExpensive(latex: string): boolean {
  return latex.includes("!") && /\d{4,}/.test(latex);
}

type Structure =
  | { kind: "scalar" }
  | { kind: "union"; items: string[] }
  | { kind: "tuple"; open: string; close: string; items: string[] }
  | { kind: "unordered"; items: string[] };

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "\\{": "\\}" };

/** Recognises `A \cup B`, `(a, b)`, `[a, b)`, `\{a, b\}` and bare lists `a, b`. */
function structureOf(s: string): Structure {
  const union = splitTopLevel(s, "\\cup");
  if (union.length > 1) return { kind: "union", items: union };
  const open = s.startsWith("\\{") ? "\\{" : s[0];
  const close = s.endsWith("\\}") ? "\\}" : s[s.length - 1];
  if (open in OPENERS && [")", "]", "\\}"].includes(close) && wrapsWhole(s, open.length, close.length)) {
    const items = splitTopLevel(s.slice(open.length, s.length - close.length), ",");
    if (items.length >= 2) {
      return open === "\\{" ? { kind: "unordered", items } : { kind: "tuple", open, close, items };
    }
    return { kind: "scalar" };
  }
  const list = splitTopLevel(s, ",");
  if (list.length >= 2) return { kind: "unordered", items: list };
  return { kind: "scalar" };
}

/** The opening bracket at 0 closes only at the very end (so `(1)+(2)` is not a tuple). */
function wrapsWhole(s: string, openLength: number, closeLength: number): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    if (depth === 0 && i < s.length - 1) return false;
  }
  return depth === 0 && openLength > 0 && closeLength > 0;
}

function itemsEqual(x: string, y: string, tol: Tolerance): boolean {
  return equivalent(normalizeLatexAnswer(x), normalizeLatexAnswer(y), tol);
}

function structuresEqual(a: Structure, b: Structure, tol: Tolerance): boolean {
  if (a.kind === "scalar" || b.kind === "scalar" || a.kind !== b.kind) return false;
  if (a.items.length !== b.items.length) return false;
  if (a.kind === "tuple" && b.kind === "tuple" && (a.open !== b.open || a.close !== b.close)) return false;
  if (a.kind === "unordered") {
    // Small lists: a greedy one-to-one matching is enough.
    const used = new Array<boolean>(b.items.length).fill(false);
    return a.items.every((x) => {
      const j = b.items.findIndex((y, k) => !used[k] && itemsEqual(x, y, tol));
      if (j < 0) return false;
      used[j] = true;
      return true;
    });
  }
  return a.items.every((x, i) => itemsEqual(x, b.items[i], tol));
}

interface Value {
  re: number;
  im: number;
}

// Sample points for free variables; irrational-looking so coincidences are unlikely.
const SAMPLE_POINTS = [0.6180339887, 1.4142135624, 2.7182818285];

// A percentage may be graded as either its number (50) or its fraction (0.5).
function rationalCandidates(v: Rational, percent: boolean): Rational[] {
  return percent ? [v, rational(v.n, v.d * 100n)] : [v];
}

function scalarsEqual(a: NormalizedAnswer, b: NormalizedAnswer, tol: Tolerance): boolean {
  const ra = exactRational(a.latex);
  const rb = exactRational(b.latex);
  if (ra !== undefined && rb !== undefined) {
    return rationalCandidates(ra, a.percent).some((x) => rationalCandidates(rb, b.percent).some((y) => rationalEquals(x, y)));
  }
  const ce = computeEngine();
  // The engine infers and keeps a type for each unknown it meets (`x \cap y` makes x a set): a scope
  // per comparison forgets it, so one answer cannot change how later answers are graded.
  ce.pushScope();
  try {
    const ea = ce.parse(a.latex);
    const eb = ce.parse(b.latex);
    if (!ea.isValid || !eb.isValid) return false;
    const unknowns = [...new Set([...ea.unknowns, ...eb.unknowns])].sort();
    if (unknowns.length === 0) {
      const va = toValue(ea.N());
      const vb = toValue(eb.N());
      if (!va || !vb) return false;
      // Both provably rational (e.g. \sqrt{4} vs 2): no tolerance either.
      const exact = ea.evaluate().isRational === true && eb.evaluate().isRational === true;
      const same = exact ? (x: Value, y: Value) => x.re === y.re && x.im === y.im : (x: Value, y: Value) => valuesClose(x, y, tol);
      return candidates(va, a.percent).some((x) => candidates(vb, b.percent).some((y) => same(x, y)));
    }
    let compared = 0;
    for (const [k, base] of SAMPLE_POINTS.entries()) {
      const point: Record<string, number> = {};
      unknowns.forEach((name, j) => (point[name] = base + 0.173 * j + 0.011 * k));
      const va = toValue(ea.subs(point).N());
      const vb = toValue(eb.subs(point).N());
      if (!va && !vb) continue; // both undefined here (e.g. outside the domain)
      if (!va || !vb || !valuesClose(va, vb, tol)) return false;
      compared++;
    }
    return compared > 0;
  } catch {
    // The engine throws on some malformed input; an unparseable answer is simply not equal.
    return false;
  } finally {
    ce.popScope();
  }
}

function toValue(expr: { re: number; im: number }): Value | undefined {
  const re = expr.re;
  const im = expr.im;
  if (typeof re !== "number" || Number.isNaN(re)) return undefined;
  return { re, im: typeof im === "number" && !Number.isNaN(im) ? im : 0 };
}

// A percentage may be graded as either its number (50) or its fraction (0.5).
function candidates(v: Value, percent: boolean): Value[] {
  return percent ? [v, { re: v.re / 100, im: v.im / 100 }] : [v];
}

function close(x: number, y: number, tol: Tolerance): boolean {
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= tol.abs + tol.rel * Math.max(Math.abs(x), Math.abs(y));
}

function valuesClose(a: Value, b: Value, tol: Tolerance): boolean {
  return close(a.re, b.re, tol) && close(a.im, b.im, tol);
}

/** Where `MathEquivalenceReward` looks for the model's final answer. */
export type AnswerSource = "auto" | "boxed" | "answer-tag";

export interface MathEquivalenceRewardOptions extends MathEquivalenceOptions {
  /**
   * `"boxed"`: last `\boxed{…}`; `"answer-tag"`: first `<answer>…</answer>` (a `\boxed{}` inside
   * it is unwrapped); `"auto"`: the answer tag when present, else the last `\boxed{…}`.
   * @default "auto"
   */
  answerSource?: AnswerSource;
}

const ANSWER_SOURCES: readonly AnswerSource[] = ["auto", "boxed", "answer-tag"];

/** Extracts the final answer from a response; `undefined` when there is none. */
export function extractFinalAnswer(response: string, source: AnswerSource = "auto"): string | undefined {
  if (source !== "boxed") {
    const tagged = /<answer>([\s\S]*?)<\/answer>/.exec(response);
    if (tagged) return extractBoxed(tagged[1]) ?? tagged[1].trim();
    if (source === "answer-tag") return undefined;
  }
  return extractBoxed(response);
}

/**
 * Reward 1 when the response's final answer is mathematically equivalent to the target
 * (a `\boxed{}` in the target is unwrapped), else 0. No answer found scores 0.
 */
export class MathEquivalenceReward implements Reward {
  readonly name = "MathEquivalenceReward";
  readonly answerSource: AnswerSource;
  readonly #options: MathEquivalenceOptions;

  constructor(options: MathEquivalenceRewardOptions = {}) {
    const { answerSource = "auto", ...tolerance } = options;
    if (!ANSWER_SOURCES.includes(answerSource)) {
      throw new RewardOptionError("answerSource", `one of ${ANSWER_SOURCES.map((s) => `"${s}"`).join(", ")}`, answerSource);
    }
    resolveTolerance(tolerance); // validate now, not on the first episode
    this.answerSource = answerSource;
    this.#options = tolerance;
  }

  evaluate(_prompt: string, response: string, target: string): number {
    const answer = extractFinalAnswer(response, this.answerSource);
    if (answer === undefined) return 0;
    const reference = extractBoxed(target) ?? target;
    return isMathEquivalent(answer, reference, this.#options) ? 1 : 0;
  }
}
