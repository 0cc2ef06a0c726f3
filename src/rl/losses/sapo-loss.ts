/**
 * SAPO (Soft Adaptive Policy Optimization, Qwen 2025): a smooth sigmoid gate instead of a hard
 * clip. Per token, with r = π/π_old and τ = tauPos if A > 0 else tauNeg:
 *
 *     L = −f(r)·A,   f(r) = σ(τ·(r − 1))·4/τ
 *
 * f'(r) = 4σ(1−σ) is 1 at r = 1 (the plain policy gradient on-policy) and decays smoothly as r
 * drifts, so off-policy tokens are attenuated rather than cut. tauNeg > tauPos damps negative
 * advantages faster (they are the less stable side). No hard clip: `clipFraction` is 0.
 */
import { torch } from "../../torch/index.ts";
import { checkNumber, PolicyLoss, type ObjectiveContext, type PolicyLossOptions, type PolicyObjective } from "./policy-loss.ts";
import { clampedTokenRatio } from "./ratio.ts";

export interface SAPOLossOptions extends PolicyLossOptions {
  /** Gate temperature for positive advantages. @default 1.0 */
  tauPos?: number;
  /** Gate temperature for non-positive advantages. @default 1.05 */
  tauNeg?: number;
  /** @default 0 */
  beta?: number;
  /** @default "seq-mean-token-mean" */
  aggregation?: PolicyLossOptions["aggregation"];
}

export class SAPOLoss extends PolicyLoss {
  readonly tauPos: number;
  readonly tauNeg: number;

  constructor(options: SAPOLossOptions = {}) {
    super({ beta: 0, aggregation: "seq-mean-token-mean" }, options);
    this.tauPos = checkNumber("tauPos", options.tauPos ?? 1.0, "a number > 0", (v) => v > 0);
    this.tauNeg = checkNumber("tauNeg", options.tauNeg ?? 1.05, "a number > 0", (v) => v > 0);
  }

  protected objective({ logprobs, oldLogprobs, advantages }: ObjectiveContext): PolicyObjective {
    return torch.tidy(() => {
      const { ratio, ratioClamped } = clampedTokenRatio(logprobs, oldLogprobs);
      const tau = advantages.gt(0).to(ratio.dtype).mul(this.tauPos - this.tauNeg).add(this.tauNeg); // (B, 1) or (B, T)
      const gate = ratio.sub(1).mul(tau).sigmoid().mul(tau.rdiv(4));
      return { perToken: gate.mul(advantages).neg(), ratio, clipped: ratioClamped, ratioClamped };
    });
  }
}
