/**
 * `MathReward`: torchforge's numeric answer check. The first `<answer>…</answer>` block is parsed
 * as a number (after removing `$`, commas and whitespace); within `tolerance` of the target it
 * scores 1. Otherwise, if the target number appears anywhere else in the response (outside
 * answer blocks), it scores `partialCredit`; else 0. A target that is not a number scores 0.
 *
 * It deliberately does no LaTeX or symbolic comparison; see `MathEquivalenceReward` for that.
 */
import { formatTargetNumber, parseNumber } from "./parse-number.ts";
import type { Reward } from "./reward.ts";
import { checkNumberOption } from "./validate.ts";

export interface MathRewardOptions {
  /** Largest absolute difference (exclusive) still counted as correct. @default 1e-6 */
  tolerance?: number;
  /** Reward when the answer is wrong but the target number appears elsewhere. @default 0.1 */
  partialCredit?: number;
}

const FIRST_ANSWER = /<answer>([\s\S]*?)<\/answer>/;
const ALL_ANSWERS = /<answer>[\s\S]*?<\/answer>/g;

export class MathReward implements Reward {
  readonly name = "MathReward";
  readonly tolerance: number;
  readonly partialCredit: number;

  constructor(options: MathRewardOptions = {}) {
    this.tolerance = checkNumberOption("tolerance", options.tolerance ?? 1e-6, { min: 0 });
    this.partialCredit = checkNumberOption("partialCredit", options.partialCredit ?? 0.1);
  }

  evaluate(_prompt: string, response: string, target: string): number {
    const targetNumber = parseNumber(target);
    if (targetNumber === undefined) return 0;

    const answer = FIRST_ANSWER.exec(response);
    if (answer) {
      const value = parseNumber(answer[1]);
      // NaN/inf never pass: |a - b| < tol is false for them, as in Python.
      if (value !== undefined && Math.abs(targetNumber - value) < this.tolerance) return 1;
    }

    if (!Number.isFinite(targetNumber)) return 0;
    const outsideAnswers = response.replace(ALL_ANSWERS, "");
    return outsideAnswers.includes(formatTargetNumber(targetNumber)) ? this.partialCredit : 0;
  }
}
