/**
 * A custom reward: torchforge's `MathReward` (1 for a correct `<answer>…</answer>`), minus a small
 * penalty per character beyond `maxChars`, so the policy learns to answer correctly *and* briefly.
 * Any class with `name` and `evaluate(prompt, response, target, context?)` is a reward; so is a
 * plain function `(prompt, response, target) => number`.
 */
import { MathReward, type Reward, type RewardContext } from "torchforge/rewards";

export interface ConciseAnswerOptions {
  /** Responses up to this many characters are not penalised. @default 48 */
  maxChars?: number;
  /** Penalty per character beyond `maxChars`. @default 0.005 */
  penaltyPerChar?: number;
}

export class ConciseAnswerReward implements Reward {
  readonly name = "ConciseAnswer";
  readonly #math = new MathReward({ partialCredit: 0 });
  readonly #maxChars: number;
  readonly #penaltyPerChar: number;

  constructor(options: ConciseAnswerOptions = {}) {
    this.#maxChars = options.maxChars ?? 48;
    this.#penaltyPerChar = options.penaltyPerChar ?? 0.005;
    if (!Number.isInteger(this.#maxChars) || this.#maxChars < 0) throw new TypeError(`maxChars must be an integer >= 0; got ${options.maxChars}`);
  }

  evaluate(prompt: string, response: string, target: string, _context?: RewardContext): number {
    const correct = this.#math.evaluate(prompt, response, target);
    const excess = Math.max(0, response.length - this.#maxChars);
    return correct - this.#penaltyPerChar * excess;
  }
}
