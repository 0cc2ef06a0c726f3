/** Importance ratios π/π_old at token and sequence level. */
import { torch, type Tensor } from "../../torch/index.ts";

/** Log-ratios are clamped to ±this before `exp` so one wild token cannot overflow to inf. */
export const LOG_RATIO_CLAMP = 20;

/** `logprobs − oldLogprobs`, (B, T), clamped to ±20. */
export function tokenLogRatio(logprobs: Tensor, oldLogprobs: Tensor): Tensor {
  return torch.tidy(() => logprobs.sub(oldLogprobs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP));
}

/** Token importance ratio `exp(logprobs − oldLogprobs)`, (B, T). */
export function tokenRatio(logprobs: Tensor, oldLogprobs: Tensor): Tensor {
  return torch.tidy(() => tokenLogRatio(logprobs, oldLogprobs).exp());
}

/** GSPO's sequence log-ratio: mean over trained tokens of the token log-ratio, (B, 1). */
export function sequenceLogRatio(logprobs: Tensor, oldLogprobs: Tensor, mask: Tensor): Tensor {
  return torch.tidy(() => {
    const lengths = mask.sum(-1, { keepdim: true }).clampMin(1);
    return logprobs.sub(oldLogprobs).mul(mask).sum(-1, { keepdim: true }).div(lengths);
  });
}

/** Sequence ratio `exp(mean token log-ratio)` = geometric mean of token ratios, (B, 1). */
export function sequenceRatio(logprobs: Tensor, oldLogprobs: Tensor, mask: Tensor): Tensor {
  return torch.tidy(() => sequenceLogRatio(logprobs, oldLogprobs, mask).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp());
}
