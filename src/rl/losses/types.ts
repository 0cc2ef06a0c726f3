/** The call contract every policy loss shares: tensors in, `{ loss, metrics }` out. */
import type { Tensor } from "../../torch/index.ts";

/**
 * Inputs of `loss.forward(...)`. B = sequences, T = response tokens (the collated `R`).
 * Only `logprobs`, `advantages` and `paddingMask` are required; the seed's call
 * `forward({ logprobs, refLogprobs, advantages, paddingMask })` is the minimal form.
 */
export interface PolicyLossInput {
  /** Current policy's logprobs of the response tokens, (B, T), differentiable. */
  logprobs: Tensor;
  /** One advantage per sequence (B) / (B, 1), or per token (B, T). */
  advantages: Tensor;
  /** 1 (or true) for tokens to train on, 0 (false) for padding, (B, T). */
  paddingMask: Tensor;
  /** Reference-model logprobs, (B, T); needed when the loss has `beta > 0`. */
  refLogprobs?: Tensor;
  /**
   * Logprobs of the policy the data is treated as sampled from (π_old), (B, T), no grad.
   * @default logprobs.detach() — one gradient step per batch, so every ratio is 1
   */
  oldLogprobs?: Tensor;
  /** The generator's (inference engine's) logprobs, (B, T): KL-to-generator metric, importance-sampling correction, REINFORCE. */
  generatorLogprobs?: Tensor;
  /** Response-aligned logits (B, T, V) for the entropy metric / bonus (see `responseLogits`). */
  logits?: Tensor;
  /** Precomputed per-token entropy (B, T); used instead of `logits` when given. */
  entropy?: Tensor;
  /**
   * Trained tokens in the WHOLE step (all micro-batches, all ranks), for token-mean style
   * normalisation. @default this micro-batch's `paddingMask.sum()`
   */
  globalTokenCount?: number;
  /** Sequences in the WHOLE step, for seq-mean style normalisation. @default B */
  globalSequenceCount?: number;
}

/** Plain-number diagnostics of one `forward` (this micro-batch only). */
export interface LossMetrics {
  /** The loss value. */
  loss: number;
  /** Importance ratio π/π_old over trained tokens (GSPO: the sequence ratio). */
  ratioMean: number;
  ratioMin: number;
  ratioMax: number;
  /** Fraction of trained tokens whose objective was clipped (gradient cut or weight capped). */
  clipFraction: number;
  /**
   * Fraction of trained tokens whose log-ratio lay beyond ±LOG_RATIO_CLAMP (20): their ratio is
   * clamped to e^±20 and, in the ratio-differentiating losses, they get no gradient (also counted
   * in `clipFraction` there). Non-zero means the data is far off-policy or a logprob is broken.
   */
  ratioClampedFraction: number;
  /** Mean k3 estimate of KL(π ‖ π_ref) per trained token; absent without `refLogprobs`. */
  klRef?: number;
  /** Mean k3 estimate of KL(π ‖ π_generator) per trained token; absent without `generatorLogprobs`. */
  klGenerator?: number;
  /** Mean policy entropy per trained token; absent without `logits`/`entropy`. */
  entropy?: number;
  /** Mean and (unbiased) std of the advantages, per sequence for (B)/(B,1), per trained token for (B,T). */
  advantageMean: number;
  advantageStd: number;
  /** Mean train-vs-generator importance weight applied (after truncation/masking); absent when off. */
  isWeightMean?: number;
  /** Fraction of trained tokens zeroed by masked importance sampling; absent when off. */
  isMaskedFraction?: number;
  /** Trained tokens in this micro-batch. */
  tokens: number;
}

export interface LossOutput {
  /** 0-d tensor to call `.backward()` on. */
  loss: Tensor;
  metrics: LossMetrics;
}

/** Anything with this shape is a loss the trainer can use; user losses need no base class. */
export interface Loss {
  forward(input: PolicyLossInput): LossOutput;
}
