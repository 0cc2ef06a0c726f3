/** Shared trainer types: what a loss function receives and returns. */
import type { Tensor, nn } from "../torch/index.ts";

/**
 * A module whose `forward(tokens)` returns logits (B, T, V), e.g. `CausalLM`. Policy batches
 * pass `{ attentionMask }` (1 = real token) for left-padded prompts.
 */
export interface ForwardModel extends nn.Module {
  forward(inputIds: Tensor, options?: { attentionMask?: Tensor }): Tensor;
  /** Models that recompute activations in backward (CausalLM) have this switch. */
  activationCheckpointing?: boolean;
  /** Completes a checkpointed backward; the trainer calls it after each `loss.backward()`. */
  finishBackward?(): void;
}

/** What a loss function gets for one micro-batch. */
export interface LossFnArgs<B, M> {
  model: M;
  batch: B;
  /** Trained tokens over ALL micro-batches of the step: normalise by this, not the micro-batch's own count. */
  globalTokenCount: number;
  /** Sequences over ALL micro-batches of the step. */
  globalSequenceCount: number;
}

/** A loss's output: a 0-d tensor to back-propagate and plain-number diagnostics. */
export interface LossFnOutput {
  loss: Tensor;
  /** Plain numbers; `tokens` (if present) weights the micro-batch average. */
  metrics?: object;
}

/**
 * Any function of (model, micro-batch) → `{ loss, metrics }`. The micro-batch losses of a step
 * must SUM to the full-batch loss (normalise by the global counts), as `src/rl` losses do.
 */
export type LossFn<B, M = nn.Module> = (args: LossFnArgs<B, M>) => LossFnOutput;
