/**
 * Reading a numeric final answer: the first `<answer>…</answer>` block (as src/rewards'
 * `MathReward` reads it), else the last number in the text, so an agent that answers
 * "The result is 5535." is judged on 5535.
 */
import { extractFinalAnswer, parseNumber } from "../rewards/index.ts";

const NUMBER = /-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)/g;

/** The answer text: inside `<answer>` when present, else the last number; undefined when neither. */
export function extractNumericAnswer(text: string): string | undefined {
  const tagged = extractFinalAnswer(text, "answer-tag");
  if (tagged !== undefined) return tagged;
  const numbers = text.match(NUMBER);
  return numbers?.at(-1);
}

/** 1 when the answer equals the numeric target (within `tolerance`), else 0. */
export function numericAnswerReward(text: string, target: string, tolerance = 1e-6): number {
  const answer = extractNumericAnswer(text);
  const value = answer === undefined ? undefined : parseNumber(answer);
  const expected = parseNumber(target);
  if (value === undefined || expected === undefined) return 0;
  return Math.abs(value - expected) < tolerance ? 1 : 0;
}
