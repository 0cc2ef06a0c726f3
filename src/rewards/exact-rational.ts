/**
 * Exact rational value of a plain arithmetic answer (after `normalizeLatexAnswer`), so that math
 * equivalence compares integers, fractions and written-out decimals EXACTLY instead of within a
 * floating-point tolerance (where 1000000 ≡ 1000001 and 1e-12 ≡ 3e-12 would pass).
 *
 * Grammar: numbers (`12`, `0.5`, `.5`, `1.5e3`), `+ - * / \times \cdot \div`, `^` with an integer
 * exponent, parentheses/braces and `\frac{a}{b}` (also `\frac12`). Anything else (roots,
 * constants, variables, implicit products like `2\frac12`) returns `undefined`: not provably rational here.
 */

/** n/d in lowest terms, d > 0. */
export interface Rational {
  n: bigint;
  d: bigint;
}

// Bounds the work: 10^1000 is fine, 10^(10^9) is not an answer anyone writes.
const MAX_EXPONENT = 1000;
const MAX_DIGITS = 5000;

const abs = (x: bigint) => (x < 0n ? -x : x);
function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

export function rational(n: bigint, d: bigint = 1n): Rational {
  if (d === 0n) throw new RangeError("division by zero");
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

export const rationalEquals = (a: Rational, b: Rational): boolean => a.n === b.n && a.d === b.d;

const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);
const div = (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n);

function pow(base: Rational, e: Rational): Rational {
  if (e.d !== 1n || abs(e.n) > BigInt(MAX_EXPONENT)) throw new RangeError("exponent");
  const k = e.n;
  const digits = (base.n.toString().length + base.d.toString().length) * Number(abs(k));
  if (digits > MAX_DIGITS) throw new RangeError("too large");
  const r = rational(base.n ** abs(k), base.d ** abs(k));
  return k < 0n ? div(rational(1n), r) : r;
}

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const OPERATORS: Record<string, string> = { "\\times": "*", "\\cdot": "*", "\\div": "/" };

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  private skip(): void {
    while (this.s[this.i] === " ") this.i++;
  }

  private peek(): string | undefined {
    this.skip();
    for (const [cmd, op] of Object.entries(OPERATORS)) {
      if (this.s.startsWith(cmd, this.i) && !/[a-zA-Z]/.test(this.s[this.i + cmd.length] ?? "")) return op;
    }
    return this.s[this.i];
  }

  private take(): void {
    this.skip();
    const cmd = Object.keys(OPERATORS).find((c) => this.s.startsWith(c, this.i));
    this.i += cmd !== undefined && !/[a-zA-Z]/.test(this.s[this.i + cmd.length] ?? "") ? cmd.length : 1;
  }

  parse(): Rational {
    const v = this.expr();
    this.skip();
    if (this.i !== this.s.length) throw new SyntaxError("trailing input");
    return v;
  }

  private expr(): Rational {
    let v = this.term();
    for (let op = this.peek(); op === "+" || op === "-"; op = this.peek()) {
      this.take();
      v = op === "+" ? add(v, this.term()) : sub(v, this.term());
    }
    return v;
  }

  private term(): Rational {
    let v = this.unary();
    for (let op = this.peek(); op === "*" || op === "/"; op = this.peek()) {
      this.take();
      v = op === "*" ? mul(v, this.unary()) : div(v, this.unary());
    }
    return v;
  }

  private unary(): Rational {
    const op = this.peek();
    if (op === "-" || op === "+") {
      this.take();
      const v = this.unary();
      return op === "-" ? rational(-v.n, v.d) : v;
    }
    return this.power();
  }

  private power(): Rational {
    const base = this.atom();
    if (this.peek() !== "^") return base;
    this.take();
    return pow(base, this.argument());
  }

  /** `{expr}` or a single digit (`\frac12`, `10^3`). */
  private argument(): Rational {
    if (this.peek() === "{") return this.atom();
    const c = this.s[this.i];
    if (c === undefined || !/\d/.test(c)) throw new SyntaxError("argument");
    this.i++;
    return rational(BigInt(c));
  }

  private atom(): Rational {
    const c = this.peek();
    if (c === "(" || c === "{") {
      this.take();
      const v = this.expr();
      if (this.peek() !== (c === "(" ? ")" : "}")) throw new SyntaxError("unclosed");
      this.take();
      return v;
    }
    if (this.s.startsWith("\\frac", this.i) && !/[a-zA-Z]/.test(this.s[this.i + 5] ?? "")) {
      this.i += 5;
      this.skip();
      const num = this.argument();
      this.skip();
      return div(num, this.argument());
    }
    const m = NUMBER.exec(this.s.slice(this.i));
    if (!m) throw new SyntaxError("not a number");
    this.i += m[0].length;
    return decimal(m[0]);
  }
}

/** "1.25e-3" → 125/100000 exactly. */
function decimal(text: string): Rational {
  const [mantissa, exp = "0"] = text.toLowerCase().split("e");
  const [whole, frac = ""] = mantissa!.split(".");
  const e = Number(exp) - frac.length;
  if (Math.abs(e) > MAX_EXPONENT) throw new RangeError("exponent");
  const digits = BigInt((whole || "0") + frac);
  return e >= 0 ? rational(digits * 10n ** BigInt(e)) : rational(digits, 10n ** BigInt(-e));
}

/** The exact value of `latex` when it is plain rational arithmetic, else `undefined` (see module doc). */
export function exactRational(latex: string): Rational | undefined {
  try {
    return new Parser(latex.trim()).parse();
  } catch {
    return undefined;
  }
}
