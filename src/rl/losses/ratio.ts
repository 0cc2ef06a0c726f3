/**
 * Importance ratios π/π_old at token and sequence level.
 *
 * Extreme ratios: a log-ratio beyond ±LOG_RATIO_CLAMP is clamped before `exp` so it cannot
 * overflow. Past the bound the ratio is constant, so such a token gets NO gradient through the
 * ratio — on purpose: a token whose probability moved by more than e²⁰ since sampling is a
 * numerical/mismatch artefact, not a policy-gradient signal, and letting it through with weight
 * e²⁰ (a straight-through clamp) would make that one token dominate the step after grad-norm
 * clipping. The drop is made VISIBLE instead of silent: `ratioClamped` marks those tokens, every
 * built-in loss counts them in the `ratioClampedFraction` metric and in `clipFraction`.
 */
import { torch, type Tensor } from "../../torch/index.ts";

/** Log-ratios are clamped to ±this before `exp` so one wild token cannot overflow to inf. */
export const LOG_RATIO_CLAMP = 20;

/** True where a log-ratio lies outside ±LOG_RATIO_CLAMP (its ratio is clamped: no gradient). */
export function outsideRatioClamp(logRatio: Tensor): Tensor {
  return torch.tidy(() => logRatio.detach().abs().gt(LOG_RATIO_CLAMP));
}

/** `logprobs − oldLogprobs`, (B, T), clamped to ±20. */
export function tokenLogRatio(logprobs: Tensor, oldLogprobs: Tensor): Tensor {
  return torch.tidy(() => logprobs.sub(oldLogprobs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP));
}

/** Token importance ratio `exp(logprobs − oldLogprobs)`, (B, T). */
export function tokenRatio(logprobs: Tensor, oldLogprobs: Tensor): Tensor {
  return torch.tidy(() => tokenLogRatio(logprobs, oldLogprobs).exp());
}

/** Token ratio plus the bool (B, T) of tokens whose log-ratio hit the ±20 clamp. */
export function clampedTokenRatio(logprobs: Tensor, oldLogprobs: Tensor): { ratio: Tensor; ratioClamped: Tensor } {
  return torch.tidy(() => {
    const logRatio = logprobs.sub(oldLogprobs);
    return { ratio: logRatio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp(), ratioClamped: outsideRatioClamp(logRatio) };
  });
}

/** GSPO's sequence log-ratio: mean over trained tokens of the token log-ratio, (B, 1). */
export function sequenceLogRatio(logprobs: Tensor, oldLogprobs: Tensor, mask: Tensor): Tensor {
  return torch.tidy(() => {
    const lengths = mask.sum(-1, { keepdim: true }).clampMin(1);
    // Selection, not multiplication: a non-finite padded value must not reach the sum.
    const diff = torch.where(mask.gt(0), logprobs.sub(oldLogprobs).mul(mask), 0);
    return diff.sum(-1, { keepdim: true }).div(lengths);
  });
}

/** Sequence ratio `exp(mean token log-ratio)` = geometric mean of token ratios, (B, 1). */
export function sequenceRatio(logprobs: Tensor, oldLogprobs: Tensor, mask: Tensor): Tensor {
  return torch.tidy(() => sequenceLogRatio(logprobs, oldLogprobs, mask).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp());
}
