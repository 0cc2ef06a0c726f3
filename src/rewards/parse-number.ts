/**
 * Parses a number the way Python's `float()` does after torchforge's cleaning (`$`, commas and
 * whitespace removed), because `MathReward` must agree with torchforge on what counts as a number.
 * Unlike JavaScript's `Number()`, the empty string, hex and binary literals are rejected.
 */

// Decimal with optional fraction/exponent; Python allows single underscores between digits.
const DECIMAL = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** Removes the characters torchforge strips before parsing: `$`, `,` and all whitespace. */
export function cleanNumberText(text: string): string {
  return text.trim().replace(/[$,\s]/g, "");
}

/** `float(cleaned)` semantics; returns `undefined` where Python would raise `ValueError`. */
export function parseNumber(text: string): number | undefined {
  const cleaned = cleanNumberText(text);
  if (DECIMAL.test(cleaned)) return Number(cleaned.replace(/_/g, ""));
  const special = SPECIAL.exec(cleaned);
  if (special) {
    if (special[2].toLowerCase() === "nan") return Number.NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  return undefined;
}

/**
 * The text torchforge searches for when giving partial credit: integers without a fractional
 * part (`117`, not `117.0`), other numbers in their shortest round-trip form.
 */
export function formatTargetNumber(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  return String(value);
}
