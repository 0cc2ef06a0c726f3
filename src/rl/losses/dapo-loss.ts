/**
 * DAPO (Yu et al. 2025): clip-higher (clipHigh > clipLow keeps low-probability tokens
 * explorable), token-level mean over the GLOBAL batch (long answers are not down-weighted), no
 * KL term, optional dual clip. Dynamic sampling is `filterZeroVarianceGroups`; the overlong
 * penalty is a reward (`src/rewards`).
 */
import { torch } from "../../torch/index.ts";
import { clippedObjective } from "./clipped-objective.ts";
import { checkClip } from "./grpo-loss.ts";
import { PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { clampedTokenRatio } from "./ratio.ts";

export interface DAPOLossOptions extends PolicyLossOptions {
  /** @default 0.2 */
  clipLow?: number;
  /** @default 0.28 */
  clipHigh?: number;
  /** Dual-clip constant c > 1 (e.g. 3). @default undefined (off) */
  clipRatioC?: number;
  /** @default 0 */
  beta?: number;
  /** @default "token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class DAPOLoss extends PolicyLoss {
  readonly clipLow: number;
  readonly clipHigh: number;
  readonly clipRatioC: number | undefined;

  constructor(options: DAPOLossOptions = {}) {
    super({ beta: 0, aggregation: "token-mean" }, options);
    ({ clipLow: this.clipLow, clipHigh: this.clipHigh, clipRatioC: this.clipRatioC } = checkClip(options, { clipLow: 0.2, clipHigh: 0.28 }));
  }

  protected objective({ logprobs, oldLogprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const { ratio, ratioClamped } = clampedTokenRatio(logprobs, oldLogprobs);
      return clippedObjective(ratio, advantages, this, ratioClamped);
    });
  }
}
