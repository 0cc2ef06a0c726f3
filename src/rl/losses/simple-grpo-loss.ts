/**
 * The seed's `SimpleGRPOLoss`: on-policy GRPO for one gradient step per batch (as TRL with
 * `num_iterations = 1`). Per token
 *
 *     L = −(exp(logπ − sg(logπ))·A − beta·k3(π ‖ π_ref))
 *
 * averaged per sequence over its tokens, then over sequences ("seq-mean-token-mean"). The ratio
 * `exp(logπ − sg(logπ))` is 1 in value, but its gradient is ∇logπ: the policy gradient.
 * It ignores `oldLogprobs`: for several steps on one batch use `GRPOLoss`.
 */
import { torch } from "../../torch/index.ts";
import { PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";

export interface SimpleGRPOLossOptions extends PolicyLossOptions {
  /** KL penalty weight. @default 0.1 */
  beta?: number;
  /** @default "seq-mean-token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class SimpleGRPOLoss extends PolicyLoss {
  constructor(options: SimpleGRPOLossOptions = {}) {
    super({ beta: 0.1, aggregation: "seq-mean-token-mean" }, options);
  }

  protected objective({ logprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const ratio = logprobs.sub(logprobs.detach()).exp();
      return { perToken: ratio.mul(advantages).neg(), ratio, clipped: torch.zerosLike(logprobs, { dtype: "bool" }) };
    });
  }
}
