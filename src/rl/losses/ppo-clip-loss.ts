/**
 * PPO-clip (Schulman et al. 2017) policy loss: symmetric clipping by `clipRatio` (override either
 * side with clipLow/clipHigh), token-mean, no KL term by default, optional dual clip.
 */
import { torch } from "../../torch/index.ts";
import { clippedObjective } from "./clipped-objective.ts";
import { checkClip } from "./grpo-loss.ts";
import { checkNumber, PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { clampedTokenRatio } from "./ratio.ts";

export interface PPOClipLossOptions extends PolicyLossOptions {
  /** ε of clip(r, 1−ε, 1+ε). @default 0.2 */
  clipRatio?: number;
  /** @default clipRatio */
  clipLow?: number;
  /** @default clipRatio */
  clipHigh?: number;
  /** Dual-clip constant c > 1. @default undefined (off) */
  clipRatioC?: number;
  /** @default 0 */
  beta?: number;
  /** @default "token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class PPOClipLoss extends PolicyLoss {
  readonly clipLow: number;
  readonly clipHigh: number;
  readonly clipRatioC: number | undefined;

  constructor(options: PPOClipLossOptions = {}) {
    super({ beta: 0, aggregation: "token-mean" }, options);
    const eps = checkNumber("clipRatio", options.clipRatio ?? 0.2, "a number in [0, 1]", (v) => v >= 0 && v <= 1);
    ({ clipLow: this.clipLow, clipHigh: this.clipHigh, clipRatioC: this.clipRatioC } = checkClip(options, { clipLow: eps, clipHigh: eps }));
  }

  protected objective({ logprobs, oldLogprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const { ratio, ratioClamped } = clampedTokenRatio(logprobs, oldLogprobs);
      return clippedObjective(ratio, advantages, this, ratioClamped);
    });
  }
}
