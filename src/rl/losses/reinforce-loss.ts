/**
 * The seed's `ReinforceLoss`: REINFORCE with a detached importance weight,
 *
 *     L = −w·A·logπ,   w = sg(exp(logπ − logπ_gen)), bounded by `clipRatio` or `weightBounds`
 *
 * token-mean over the batch. Unlike PPO/GRPO clipping, a token outside the trust region keeps
 * its gradient (only its weight is bounded), which is what the seed's docstring contrasts.
 * π_gen is `generatorLogprobs`, else `oldLogprobs`, else the policy itself (w = 1).
 */
import { torch } from "../../torch/index.ts";
import { RLOptionError } from "../errors.ts";
import { checkNumber, PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { LOG_RATIO_CLAMP, outsideRatioClamp } from "./ratio.ts";

/** Asymmetric bounds of the importance weight; torchforge's ReinforceLoss uses `{ low: 0.1, high: 10 }`. */
export interface ImportanceWeightBounds {
  /** @default 0 (no lower bound) */
  low?: number;
  /** @default Infinity (no upper bound) */
  high?: number;
}

export interface ReinforceLossOptions extends PolicyLossOptions {
  /** Clip the detached weight to [1−clipRatio, 1+clipRatio]. @default undefined (no clipping, as the seed) */
  clipRatio?: number;
  /** Clip the detached weight to [low, high] (asymmetric); exclusive with `clipRatio`. @default undefined */
  weightBounds?: ImportanceWeightBounds;
  /** @default 0 */
  beta?: number;
  /** @default "token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class ReinforceLoss extends PolicyLoss {
  readonly clipRatio: number | undefined;
  /** The resolved weight bounds [low, high]; undefined = unbounded. */
  readonly weightBounds: { low: number; high: number } | undefined;

  constructor(options: ReinforceLossOptions = {}) {
    super({ beta: 0, aggregation: "token-mean" }, options);
    this.clipRatio = options.clipRatio === undefined ? undefined : checkNumber("clipRatio", options.clipRatio, "a number in (0, 1]", (v) => v > 0 && v <= 1);
    if (options.weightBounds !== undefined) {
      if (this.clipRatio !== undefined) throw new RLOptionError("weightBounds", "not together with clipRatio (give one of them)", options.weightBounds);
      const low = options.weightBounds.low ?? 0;
      const high = options.weightBounds.high ?? Infinity;
      if (typeof low !== "number" || !Number.isFinite(low) || low < 0) throw new RLOptionError("weightBounds.low", "a finite number >= 0", low);
      if (typeof high !== "number" || Number.isNaN(high) || !(high > low)) throw new RLOptionError("weightBounds.high", `a number > weightBounds.low (${low})`, high);
      this.weightBounds = { low, high };
    } else if (this.clipRatio !== undefined) {
      this.weightBounds = { low: 1 - this.clipRatio, high: 1 + this.clipRatio };
    }
  }

  protected objective({ logprobs, oldLogprobs, advantages, generatorLogprobs }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const behaviour = generatorLogprobs ?? oldLogprobs;
      const logRatio = logprobs.detach().sub(behaviour);
      const ratio = logRatio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp();
      const b = this.weightBounds;
      const weight = b === undefined ? ratio : ratio.clamp(b.low, Number.isFinite(b.high) ? b.high : null);
      const clipped = b === undefined ? torch.zerosLike(ratio, { dtype: "bool" }) : ratio.lt(b.low).logicalOr(ratio.gt(b.high));
      // The weight is detached, so a clamped ratio only bounds the weight: the token keeps its gradient.
      return { perToken: weight.mul(advantages).mul(logprobs).neg(), ratio, clipped, ratioClamped: outsideRatioClamp(logRatio) };
    });
  }
}
