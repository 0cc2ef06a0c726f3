/**
 * The `calculator` tool: evaluates `+ - * /` with parentheses over integers and decimals.
 *
 * A small recursive-descent parser rather than `eval`/`Function` (which would run any code the
 * model writes) or a computer-algebra system (which would accept far more than arithmetic and
 * answer in its own notation): the grammar is five lines, every refusal can say exactly which
 * character was wrong, and the results are plain numbers a tiny model can copy.
 *
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := ('+' | '-') unary | atom
 *   atom   := number | '(' expr ')'
 *   number := digits ('.' digits)? | '.' digits
 */
import { z } from "zod";
import { tool } from "./tool.ts";

/** The expression is not arithmetic the calculator accepts, or has no finite value. */
export class CalculatorError extends Error {
  override name = "CalculatorError";
}

/** Longest expression accepted; longer input is refused rather than parsed. */
const MAX_LENGTH = 500;
/** Deepest nesting of parentheses and unary signs (keeps recursion off the stack limit). */
const MAX_DEPTH = 100;

export function evaluateArithmetic(expression: string): number {
  if (typeof expression !== "string") throw new CalculatorError("expression must be a string");
  if (expression.length > MAX_LENGTH) throw new CalculatorError(`expression longer than ${MAX_LENGTH} characters`);
  const src = expression;
  let pos = 0;
  let depth = 0;

  const skipSpace = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  };
  const peek = (): string | undefined => {
    skipSpace();
    return src[pos];
  };
  const unexpected = (): CalculatorError => {
    const ch = peek();
    if (ch === undefined) return new CalculatorError("expression ends too early");
    return new CalculatorError(`unexpected ${JSON.stringify(ch)} at position ${pos}; only numbers, + - * / and parentheses are allowed`);
  };
  const nest = <T>(fn: () => T): T => {
    if (++depth > MAX_DEPTH) throw new CalculatorError(`expression nested deeper than ${MAX_DEPTH}`);
    try {
      return fn();
    } finally {
      depth--;
    }
  };

  const parseExpr = (): number => {
    let value = parseTerm();
    for (let op = peek(); op === "+" || op === "-"; op = peek()) {
      pos++;
      const rhs = parseTerm();
      value = op === "+" ? value + rhs : value - rhs;
    }
    return value;
  };
  const parseTerm = (): number => {
    let value = parseUnary();
    for (let op = peek(); op === "*" || op === "/"; op = peek()) {
      pos++;
      const rhs = parseUnary();
      if (op === "/" && rhs === 0) throw new CalculatorError("division by zero");
      value = op === "*" ? value * rhs : value / rhs;
    }
    return value;
  };
  const parseUnary = (): number => {
    const ch = peek();
    if (ch === "+" || ch === "-") {
      pos++;
      return nest(() => (ch === "-" ? -parseUnary() : parseUnary()));
    }
    return parseAtom();
  };
  const parseAtom = (): number => {
    const ch = peek();
    if (ch === "(") {
      pos++;
      const value = nest(parseExpr);
      if (peek() !== ")") throw peek() === undefined ? new CalculatorError("missing ')'") : unexpected();
      pos++;
      return value;
    }
    const m = /^(?:\d+(?:\.\d+)?|\.\d+)/.exec(src.slice(pos));
    if (!m) throw unexpected();
    pos += m[0].length;
    return Number(m[0]);
  };

  if (peek() === undefined) throw new CalculatorError("empty expression");
  const value = parseExpr();
  if (peek() !== undefined) throw unexpected();
  if (!Number.isFinite(value)) throw new CalculatorError("result is too large");
  return value;
}

/**
 * Results as a model should read them: integers in full (`5535`), other numbers rounded to 12
 * significant digits so float noise (`0.1+0.2`) does not show (`0.3`).
 */
export function formatCalculatorResult(value: number): string {
  if (Number.isSafeInteger(value)) return String(value);
  const rounded = Number(value.toPrecision(12));
  return Object.is(rounded, -0) ? "0" : String(rounded);
}

export const calculatorTool = tool({
  name: "calculator",
  description: "Evaluates an arithmetic expression with + - * / and parentheses, e.g. 123*45.",
  parameters: z.object({ expression: z.string().describe("the expression, e.g. 123*45") }),
  execute: ({ expression }) => formatCalculatorResult(evaluateArithmetic(expression)),
});
