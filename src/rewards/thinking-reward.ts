/**
 * `ThinkingReward`: torchforge's check that the model reasons inside a thinking block. A block
 * `<think>…</think>` with any non-whitespace content scores `fullReward`; an empty block or a
 * lone opening/closing tag scores `partialReward` (the model is trying); otherwise 0. Tags match
 * case-insensitively and tolerate spaces inside the brackets (`< think >`, `</ think>`).
 */
import type { Reward } from "./reward.ts";
import { checkNumberOption, checkTagOption, escapeRegExp } from "./validate.ts";

export interface ThinkingRewardOptions {
  /** Reward for a malformed or empty thinking block. @default 0.2 */
  partialReward?: number;
  /** Reward for a well-formed block with content. @default 1.0 */
  fullReward?: number;
  /** Tag name, e.g. `"思考"` for Japanese reasoning. @default "think" */
  tag?: string;
}

export class ThinkingReward implements Reward {
  readonly name = "ThinkingReward";
  readonly partialReward: number;
  readonly fullReward: number;
  readonly tag: string;
  readonly #block: RegExp;
  readonly #attempt: RegExp;

  constructor(options: ThinkingRewardOptions = {}) {
    this.partialReward = checkNumberOption("partialReward", options.partialReward ?? 0.2);
    this.fullReward = checkNumberOption("fullReward", options.fullReward ?? 1);
    this.tag = checkTagOption("tag", options.tag ?? "think");
    const tag = escapeRegExp(this.tag);
    this.#block = new RegExp(`<\\s*${tag}\\s*>([\\s\\S]*?)<\\s*\\/\\s*${tag}\\s*>`, "giu");
    this.#attempt = new RegExp(`<\\s*\\/?\\s*${tag}\\s*>`, "iu");
  }

  evaluate(_prompt: string, response: string): number {
    if (!response) return 0;
    const blocks = [...response.matchAll(this.#block)];
    if (blocks.some((m) => /\S/u.test(m[1]))) return this.fullReward;
    if (blocks.length > 0 || this.#attempt.test(response)) return this.partialReward;
    return 0;
  }
}
