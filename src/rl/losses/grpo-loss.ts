/**
 * GRPO (DeepSeekMath): PPO's clipped surrogate with asymmetric bounds and a KL penalty to the
 * reference policy, averaged per sequence then over sequences.
 *
 *     L = −min(r·A, clip(r, 1−clipLow, 1+clipHigh)·A) + beta·KL_k3(π ‖ π_ref),   r = π/π_old
 */
import { torch } from "../../torch/index.ts";
import { clippedObjective } from "./clipped-objective.ts";
import { checkNumber, PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { clampedTokenRatio } from "./ratio.ts";

export interface GRPOLossOptions extends PolicyLossOptions {
  /** Lower clip: ratios below 1−clipLow stop pushing down. @default 0.2 */
  clipLow?: number;
  /** Upper clip: ratios above 1+clipHigh stop pushing up. @default 0.2 */
  clipHigh?: number;
  /** Dual-clip constant c > 1 for negative advantages. @default undefined (off) */
  clipRatioC?: number;
  /** KL penalty weight (DeepSeekMath's value). @default 0.04 */
  beta?: number;
  /** @default "seq-mean-token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export function checkClip(o: { clipLow?: number; clipHigh?: number; clipRatioC?: number }, defaults: { clipLow: number; clipHigh: number }) {
  return {
    clipLow: checkNumber("clipLow", o.clipLow ?? defaults.clipLow, "a number in [0, 1]", (v) => v >= 0 && v <= 1),
    clipHigh: checkNumber("clipHigh", o.clipHigh ?? defaults.clipHigh, "a number >= 0", (v) => v >= 0),
    clipRatioC: o.clipRatioC === undefined ? undefined : checkNumber("clipRatioC", o.clipRatioC, "a number > 1", (v) => v > 1),
  };
}

export class GRPOLoss extends PolicyLoss {
  readonly clipLow: number;
  readonly clipHigh: number;
  readonly clipRatioC: number | undefined;

  constructor(options: GRPOLossOptions = {}) {
    super({ beta: 0.04, aggregation: "seq-mean-token-mean" }, options);
    ({ clipLow: this.clipLow, clipHigh: this.clipHigh, clipRatioC: this.clipRatioC } = checkClip(options, { clipLow: 0.2, clipHigh: 0.2 }));
  }

  protected objective({ logprobs, oldLogprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const { ratio, ratioClamped } = clampedTokenRatio(logprobs, oldLogprobs);
      return clippedObjective(ratio, advantages, this, ratioClamped);
    });
  }
}
