import { RewardOptionError } from "./errors.ts";

/** Checks a numeric option at construction time so a typo fails before training starts. */
export function checkNumberOption(
  option: string,
  value: number,
  { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false }: NumberRule = {},
): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (exclusiveMin ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const parts = [integer ? "an integer" : "a finite number"];
    if (min > -Infinity) parts.push(`${exclusiveMin ? ">" : ">="} ${min}`);
    if (max < Infinity) parts.push(`<= ${max}`);
    throw new RewardOptionError(option, parts.join(" "), value);
  }
  return value;
}

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
  exclusiveMin?: boolean;
}

/** Checks a tag name: non-empty, no angle brackets (it is placed inside `<…>`). */
export function checkTagOption(option: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "" || /[<>]/.test(value)) {
    throw new RewardOptionError(option, "a non-empty tag name without '<' or '>'", value);
  }
  return value;
}

/** Escapes a string for literal use inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
