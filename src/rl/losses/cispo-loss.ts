/**
 * CISPO (MiniMax-M1, 2025): clip the importance-sampling WEIGHT, not the update. Every token
 * keeps a gradient (unlike PPO, which drops clipped tokens — often the rare "reflection" tokens):
 *
 *     L = −sg(clip(r, 1−clipLow, 1+clipHigh))·A·logπ,   r = π/π_old
 *
 * MiniMax-M1 bounds only the top; here clipLow defaults to 1 (lower bound 0, i.e. none).
 */
import { torch } from "../../torch/index.ts";
import { checkClip } from "./grpo-loss.ts";
import { PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { clampedTokenRatio } from "./ratio.ts";

export interface CISPOLossOptions extends PolicyLossOptions {
  /** Weight lower bound is 1−clipLow. @default 1 (no lower bound) */
  clipLow?: number;
  /** Weight upper bound is 1+clipHigh. @default 0.28 */
  clipHigh?: number;
  /** @default 0 */
  beta?: number;
  /** @default "token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class CISPOLoss extends PolicyLoss {
  readonly clipLow: number;
  readonly clipHigh: number;

  constructor(options: CISPOLossOptions = {}) {
    super({ beta: 0, aggregation: "token-mean" }, options);
    ({ clipLow: this.clipLow, clipHigh: this.clipHigh } = checkClip(options, { clipLow: 1, clipHigh: 0.28 }));
  }

  protected objective({ logprobs, oldLogprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const { ratio: live, ratioClamped } = clampedTokenRatio(logprobs, oldLogprobs);
      const ratio = live.detach();
      const lo = 1 - this.clipLow;
      const hi = 1 + this.clipHigh;
      const weight = ratio.clamp(lo, hi);
      const clipped = ratio.lt(lo).logicalOr(ratio.gt(hi));
      return { perToken: weight.mul(advantages).mul(logprobs).neg(), ratio, clipped, ratioClamped };
    });
  }
}
