/**
 * Per-token estimators of KL(π ‖ π_ref) from samples of π (Schulman, "Approximating KL
 * divergence"). With `logr = refLogprobs − logprobs`:
 * - k1 = −logr                      unbiased, high variance, can be negative
 * - k2 = ½·logr²                    biased, low variance; its gradient is the unbiased KL gradient
 * - k3 = exp(logr) − logr − 1       unbiased, ≥ 0, low variance (GRPO's choice)
 * - k3-k2-grad: value of k3, gradient of k2 (straight-through), so the reported penalty is k3
 *   while the gradient is the unbiased one.
 */
import { torch, type Tensor } from "../../torch/index.ts";
import { RLOptionError } from "../errors.ts";

export type KLEstimator = "k1" | "k2" | "k3" | "k3-k2-grad";

export function klPenalty(logprobs: Tensor, refLogprobs: Tensor, estimator: KLEstimator = "k3"): Tensor {
  return torch.tidy(() => {
    const logr = refLogprobs.sub(logprobs);
    switch (estimator) {
      case "k1":
        return logr.neg();
      case "k2":
        return logr.square().mul(0.5);
      case "k3":
        return logr.exp().sub(logr).sub(1);
      case "k3-k2-grad": {
        const k2 = logr.square().mul(0.5);
        const k3 = logr.exp().sub(logr).sub(1);
        return k2.add(k3.sub(k2).detach());
      }
      default:
        throw new RLOptionError("klEstimator", '"k1", "k2", "k3" or "k3-k2-grad"', estimator);
    }
  });
}
