/**
 * Finding and cleaning a final answer written in LaTeX, before a CAS sees it. This module only
 * rewrites strings; `math-equivalence.ts` decides what is equal.
 */

/**
 * Content of the last `\boxed{…}` (or `\fbox{…}`) in `text`, honouring nested braces; also the
 * brace-less form `\boxed 5`. `undefined` when there is none or its braces never close.
 */
export function extractBoxed(text: string): string | undefined {
  const re = /\\(?:boxed|fbox)(?![a-zA-Z])/g; // not \b, which misses `\boxed5`
  let last: number | undefined;
  let lastLength = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    last = m.index;
    lastLength = m[0].length;
  }
  if (last === undefined) return undefined;
  let i = last + lastLength;
  while (i < text.length && /\s/.test(text[i])) i++;
  if (text[i] !== "{") {
    // `\boxed 5` and `\boxed5`: the argument runs to the next `$` or end.
    const rest = text.slice(i).split("$")[0].trim();
    return rest.length > 0 ? rest : undefined;
  }
  const body = readBraced(text, i);
  return body === undefined ? undefined : body.trim();
}

/** Reads `{…}` starting at `open` (which must be `{`); returns the inside or `undefined`. */
function readBraced(text: string, open: number): string | undefined {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++; // an escaped brace such as `\{` does not change depth
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(open + 1, i);
  }
  return undefined;
}

// Trailing words that are units, not part of the value: "5 cm", "12 dollars", "3\\text{ kg}".
const UNIT_WORDS = [
  "cm", "mm", "km", "m", "meters?", "metres?", "kilometers?", "centimeters?", "inch(?:es)?", "in",
  "feet", "foot", "ft", "yards?", "miles?", "units?", "sq", "square", "degrees?", "dollars?",
  "cents?", "hours?", "minutes?", "seconds?", "days?", "weeks?", "years?", "kg", "g", "grams?",
  "pounds?", "lbs?", "liters?", "litres?", "ml", "mph", "points?", "people", "students?", "percent",
].join("|");
const POWER = "(?:\\^\\{?[23]\\}?)?";
// One or two unit words ("5 cm", "6 square feet"), with an optional power.
const UNIT = `(?:${UNIT_WORDS})(?:\\s+(?:${UNIT_WORDS}))?${POWER}`;
// Spaced ("5 m") or wrapped ("5\\text{ m}", "5\\text{ cm}^2": the power may follow the brace): any
// unit word. A brace is only taken with its \\text{: "\\text{5 cm}" keeps its group whole.
const TRAILING_UNIT_SPACED = new RegExp(`(?<=[\\d}.)])(?:\\s+${UNIT}|\\s*\\\\(?:mbox|text|mathrm)\\{\\s*${UNIT}\\s*\\}${POWER})$`, "i");
// Written tight against the number ("5cm"): only multi-letter units, so "2m" or "3in" stay algebra.
const TRAILING_UNIT_TIGHT = new RegExp(`(?<=\\d)(?:cm|mm|km|kg|ml|ft|mph|lbs?)${POWER}$`, "i");

/** Result of `normalizeLatexAnswer`. */
export interface NormalizedAnswer {
  /** Cleaned LaTeX: no `$`, `\left`, spacing commands, units, `x=` prefix, `\%`. */
  latex: string;
  /** The answer was written as a percentage (`50\%`, `50%`, `50 percent`). */
  percent: boolean;
}

/**
 * Rewrites an answer into a form the CAS parses and compares reliably. Follows the usual MATH
 * grading clean-up (Hendrycks et al.), kept conservative: it never changes a value, only notation.
 */
export function normalizeLatexAnswer(answer: string): NormalizedAnswer {
  let s = answer.trim();
  s = s.replace(/\n/g, " ");
  // Math-mode delimiters and presentation-only commands.
  // A sentence's full stop may follow the closing delimiter: `\[5\].`.
  s = s.replace(/^\\\[|\\\]\.?$/g, "").replace(/^\\\(|\\\)\.?$/g, "");
  s = s.replace(/\\\$/g, "").replace(/\$/g, "");
  s = s.replace(/\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])/g, "");
  s = s.replace(/\\(?:displaystyle|textstyle)(?![a-zA-Z])/g, "");
  s = s.replace(/\\[dt]frac(?![a-zA-Z])/g, "\\frac");
  s = s.replace(/\\(?:!|,|;|:|quad|qquad)/g, " ").replace(/~/g, " ").replace(/\\ /g, " ");
  // `{,}` is a comma without the space TeX adds after it: `10{,}000`.
  s = s.replace(/\{,\}/g, ",");
  // Degrees are notation: 30^\circ == 30.
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?/g, "").replace(/\\degree(?![a-zA-Z])/g, "").replace(/°/g, "");
  s = s.trim().replace(/\.$/, "").trim();
  // A TeX group around the whole answer is invisible: `{1, 2}` is the list `1, 2`.
  while (s.startsWith("{") && readBraced(s, 0)?.length === s.length - 2) s = s.slice(1, -1).trim();

  let percent = false;
  const percentForm = /\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\s+percent)$/i;
  if (percentForm.test(s)) {
    percent = true;
    s = s.replace(percentForm, "").trim();
  }

  // Units: strip a trailing unit word, then any remaining \text{…} next to a value.
  // "3 \\text{ and } 5" lists two answers; it must not become the product 3·5.
  s = s.replace(/\\text\{\s*(?:and|or)\s*\}/g, ",");
  s = stripTrailingUnits(s);
  const withoutText = s.replace(/\\(?:text|mbox|mathrm|textbf)\{[^{}]*\}/g, "").trim();
  if (withoutText.length > 0 && withoutText !== s) s = withoutText;
  // An answer that is all text ("\\text{5 cm}"): its words, then their units.
  else s = stripTrailingUnits(s.replace(/\\(?:text|mbox|mathrm|textbf)\{([^{}]*)\}/g, "$1").trim());

  // Thousands separators in a bare number: "1,000,000" (not a tuple, which has brackets).
  if (/^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/,/g, "");
  s = stripVariablePrefix(s);
  s = s.replace(/\s+/g, " ").trim();
  return { latex: s, percent };
}

/** Strips trailing units until none is left: a pass takes one (of one or two words) and its wrapper. */
function stripTrailingUnits(s: string): string {
  for (let prev = ""; prev !== s; ) {
    prev = s;
    s = s.replace(TRAILING_UNIT_SPACED, "").replace(TRAILING_UNIT_TIGHT, "").trim();
  }
  return s;
}

/** `x = 5` → `5`, `\theta=\pi` → `\pi`; only a single-symbol left side is dropped. */
export function stripVariablePrefix(s: string): string {
  const m = /^\s*(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?[a-zA-Z0-9]+\}?)?\s*=\s*(.+)$/s.exec(s);
  return m && !m[1].includes("=") ? m[1].trim() : s;
}

/** Splits on `sep` at bracket depth 0 (`(`/`[`/`{` and `\{` open; matching closers close). */
export function splitTopLevel(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim());
}
