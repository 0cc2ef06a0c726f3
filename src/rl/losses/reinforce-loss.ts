/**
 * The seed's `ReinforceLoss`: REINFORCE with a detached importance weight,
 *
 *     L = −w·A·logπ,   w = sg(exp(logπ − logπ_gen)), clipped to [1−clipRatio, 1+clipRatio] if set
 *
 * token-mean over the batch. Unlike PPO/GRPO clipping, a token outside the trust region keeps
 * its gradient (only its weight is bounded), which is what the seed's docstring contrasts.
 * π_gen is `generatorLogprobs`, else `oldLogprobs`, else the policy itself (w = 1).
 */
import { torch } from "../../torch/index.ts";
import { checkNumber, PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { LOG_RATIO_CLAMP } from "./ratio.ts";

export interface ReinforceLossOptions extends PolicyLossOptions {
  /** Clip the detached weight to [1−clipRatio, 1+clipRatio]. @default undefined (no clipping, as the seed) */
  clipRatio?: number;
  /** @default 0 */
  beta?: number;
  /** @default "token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class ReinforceLoss extends PolicyLoss {
  readonly clipRatio: number | undefined;

  constructor(options: ReinforceLossOptions = {}) {
    super({ beta: 0, aggregation: "token-mean" }, options);
    this.clipRatio = options.clipRatio === undefined ? undefined : checkNumber("clipRatio", options.clipRatio, "a number in (0, 1]", (v) => v > 0 && v <= 1);
  }

  protected objective({ logprobs, oldLogprobs, advantages, generatorLogprobs }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const behaviour = generatorLogprobs ?? oldLogprobs;
      const ratio = logprobs.detach().sub(behaviour).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp();
      const c = this.clipRatio;
      const weight = c === undefined ? ratio : ratio.clamp(1 - c, 1 + c);
      const clipped = c === undefined ? torch.zerosLike(ratio, { dtype: "bool" }) : ratio.lt(1 - c).logicalOr(ratio.gt(1 + c));
      return { perToken: weight.mul(advantages).mul(logprobs).neg(), ratio, clipped };
    });
  }
}
