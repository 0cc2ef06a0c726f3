/**
 * PPO's clipped surrogate, the core of GRPO / DAPO / GSPO / PPO-clip:
 *
 *     L = −min(r·A, clip(r, 1−clipLow, 1+clipHigh)·A)
 *
 * and the optional dual clip (Ye et al. 2020) for A < 0: L = min(L, −c·A), which bounds the loss
 * of a token whose ratio exploded while its advantage is negative.
 */
import { torch, type Tensor } from "../../torch/index.ts";
import type { PolicyObjective } from "./policy-loss.ts";

export interface ClippedObjectiveOptions {
  clipLow: number;
  clipHigh: number;
  /** Dual-clip constant c > 1; undefined = off. */
  clipRatioC?: number;
}

/** Clipped surrogate per token from a ratio (B, T) or (B, 1) and advantages (B, 1) or (B, T). */
export function clippedObjective(ratio: Tensor, advantages: Tensor, options: ClippedObjectiveOptions, ratioClamped?: Tensor): PolicyObjective {
  return torch.tidy(() => {
    const unclipped = ratio.mul(advantages).neg();
    const clippedLoss = ratio.clamp(1 - options.clipLow, 1 + options.clipHigh).mul(advantages).neg();
    let perToken = unclipped.maximum(clippedLoss);
    // "clipped" = the clipped branch won, i.e. this token gets no gradient.
    let clipped = clippedLoss.gt(unclipped);
    if (options.clipRatioC !== undefined) {
      const bound = advantages.mul(-options.clipRatioC).expandAs(perToken);
      const negative = advantages.lt(0).expandAs(perToken);
      const dual = negative.logicalAnd(perToken.gt(bound));
      perToken = torch.where(dual, bound, perToken);
      clipped = clipped.logicalOr(dual);
    }
    // A ratio held at the ±LOG_RATIO_CLAMP bound has no gradient either: count it as clipped.
    if (ratioClamped !== undefined) clipped = clipped.logicalOr(ratioClamped);
    return { perToken, ratio, clipped, ratioClamped };
  });
}
