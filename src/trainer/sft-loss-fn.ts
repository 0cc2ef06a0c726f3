/**
 * Supervised fine-tuning loss for the trainer: next-token cross-entropy over the tokens marked in
 * `lossMask` (assistant tokens), normalised by the trained tokens of the WHOLE step, so
 * micro-batch losses sum to the full-batch token mean.
 */
import { F, type Tensor } from "../torch/index.ts";
import { isHeadedModel, maskCounts } from "./policy-loss-fn.ts";
import type { ForwardModel, LossFn } from "./types.ts";

/** One SFT micro-batch. Position t of `lossMask` says whether token t is a training target. */
export interface SftMicroBatch {
  /** Token ids, (B, T) int64. */
  inputIds: Tensor;
  /** 1 for target tokens (predicted from the tokens before them), 0 for prompt/padding, (B, T) float32. The first column is ignored. */
  lossMask: Tensor;
}

/** Mean next-token NLL over masked tokens; metrics `loss`, `tokens`. */
export const sftLossFn: LossFn<SftMicroBatch, ForwardModel> = ({ model, batch, globalTokenCount }) => {
  const T = batch.inputIds.shape[1]!;
  const targets = batch.inputIds.narrow(1, 1, T - 1);
  // Position t predicts t+1. A CausalLM runs its LM head in chunks: the (B, T, V) logits never exist whole.
  const logp = isHeadedModel(model)
    ? model.logprobsFromHidden(model.hiddenStates(batch.inputIds).narrow(1, 0, T - 1), targets) // (B, T-1)
    : F.tokenLogprobs(model.forward(batch.inputIds).narrow(1, 0, T - 1), targets);
  const mask = batch.lossMask.narrow(1, 1, T - 1);
  const loss = logp.mul(mask).sum().neg().div(Math.max(1, globalTokenCount));
  return { loss, metrics: { loss: loss.item(), tokens: countSftTokens(batch).tokens } };
};

/** Trained tokens (targets) and sequences of an SFT micro-batch. */
export function countSftTokens(batch: SftMicroBatch): { tokens: number; sequences: number } {
  const T = batch.lossMask.shape[1]!;
  const view = batch.lossMask.narrow(1, 1, T - 1);
  try {
    return maskCounts(view);
  } finally {
    view.dispose();
  }
}
