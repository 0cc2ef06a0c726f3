/**
 * `FormatReward`: 1 when the whole response is exactly a thinking block followed by an answer
 * block (`<think>…</think><answer>…</answer>`, whitespace allowed between and around), each used
 * once and the answer non-empty; else 0. Stricter than `ThinkingReward`, which only looks for a
 * thinking block anywhere.
 */
import type { Reward } from "./reward.ts";
import { checkNumberOption, checkTagOption, escapeRegExp } from "./validate.ts";

export interface FormatRewardOptions {
  /** Thinking tag name. @default "think" */
  thinkTag?: string;
  /** Answer tag name. @default "answer" */
  answerTag?: string;
  /** Whether the thinking block is required; when not, `<answer>…</answer>` alone also passes. @default "required" */
  think?: "required" | "optional";
  /** Reward for a well-formatted response. @default 1 */
  reward?: number;
}

export class FormatReward implements Reward {
  readonly name = "FormatReward";
  readonly reward: number;
  readonly #pattern: RegExp;
  readonly #tags: RegExp;

  constructor(options: FormatRewardOptions = {}) {
    const think = escapeRegExp(checkTagOption("thinkTag", options.thinkTag ?? "think"));
    const answer = escapeRegExp(checkTagOption("answerTag", options.answerTag ?? "answer"));
    this.reward = checkNumberOption("reward", options.reward ?? 1);
    const thinkPart = `<${think}>[\\s\\S]*?</${think}>\\s*`;
    const optional = (options.think ?? "required") === "optional";
    this.#pattern = new RegExp(`^\\s*(?:${thinkPart})${optional ? "?" : ""}<${answer}>([\\s\\S]*?)</${answer}>\\s*$`);
    this.#tags = new RegExp(`</?(?:${think}|${answer})>`, "g");
  }

  evaluate(_prompt: string, response: string): number {
    const m = this.#pattern.exec(response);
    if (!m || m[1].trim() === "") return 0;
    // Each tag once: a nested or repeated block is a format error.
    const tags = response.match(this.#tags) ?? [];
    return new Set(tags).size === tags.length ? this.reward : 0;
  }
}
