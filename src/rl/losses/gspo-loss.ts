/**
 * GSPO (Zheng et al. 2025): one importance ratio per sequence, the geometric mean of its token
 * ratios, s_i = exp(mean_t(logπ − logπ_old)), clipped PPO-style with tiny bounds.
 *
 * Computed in the "GSPO-token" form: per token s_i,t = sg(s_i)·π_t/sg(π_t), equal to s_i in value,
 * and with "seq-mean-token-mean" aggregation its gradient equals sequence-level GSPO's
 * (∇s_i = s_i·mean_t ∇logπ_t) while still allowing per-token advantages.
 */
import { torch } from "../../torch/index.ts";
import { clippedObjective } from "./clipped-objective.ts";
import { checkClip } from "./grpo-loss.ts";
import { PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { LOG_RATIO_CLAMP, outsideRatioClamp, sequenceLogRatio } from "./ratio.ts";

export interface GSPOLossOptions extends PolicyLossOptions {
  /** @default 3e-4 (the paper's value) */
  clipLow?: number;
  /** @default 4e-4 (the paper's value) */
  clipHigh?: number;
  /** @default 0 */
  beta?: number;
  /** @default "seq-mean-token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class GSPOLoss extends PolicyLoss {
  readonly clipLow: number;
  readonly clipHigh: number;

  constructor(options: GSPOLossOptions = {}) {
    super({ beta: 0, aggregation: "seq-mean-token-mean" }, options);
    ({ clipLow: this.clipLow, clipHigh: this.clipHigh } = checkClip(options, { clipLow: 3e-4, clipHigh: 4e-4 }));
  }

  protected objective({ logprobs, oldLogprobs, advantages, mask }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const seqLog = sequenceLogRatio(logprobs, oldLogprobs, mask).detach(); // (B, 1)
      const logS = logprobs.sub(logprobs.detach()).add(seqLog).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP); // (B, T)
      // A whole sequence past the clamp has no gradient; counted per token in ratioClampedFraction.
      return clippedObjective(logS.exp(), advantages, { clipLow: this.clipLow, clipHigh: this.clipHigh }, outsideRatioClamp(seqLog).expandAs(logS));
    });
  }
}
