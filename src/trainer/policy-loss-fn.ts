/**
 * Adapts a policy `Loss` (src/rl: `forward({ logprobs, advantages, paddingMask, ... })`) to the
 * trainer's `LossFn`: runs the model on one collated micro-batch, takes the response-token
 * logprobs and hands the step's global counts to the loss, so micro-batch losses sum to the
 * full-batch loss.
 */
import { F, type Tensor } from "../torch/index.ts";
import { responseLogits, type Loss, type TrainingInputs, type TrainingTargets } from "../rl/index.ts";
import type { LossFn, ForwardModel } from "./types.ts";

/** One micro-batch as `collate` returns it: `inputs[i]` with `targets[i]`. */
export interface PolicyMicroBatch {
  inputs: TrainingInputs;
  targets: TrainingTargets;
}

export interface PolicyLossFnOptions {
  /** Sampling temperature the generator used; logits are divided by it. @default 1 */
  temperature?: number;
  /** Pass response logits to the loss for the entropy metric / bonus. @default true */
  entropy?: boolean;
}

/** Zips `collate`'s `{ inputs[], targets[] }` into micro-batches. */
export function policyMicroBatches(batch: { inputs: readonly TrainingInputs[]; targets: readonly TrainingTargets[] }): PolicyMicroBatch[] {
  if (batch.inputs.length !== batch.targets.length) {
    throw new RangeError(`batch has ${batch.inputs.length} inputs but ${batch.targets.length} targets; they must pair up`);
  }
  return batch.inputs.map((inputs, i) => ({ inputs, targets: batch.targets[i]! }));
}

export function policyLossFn(loss: Loss, options: PolicyLossFnOptions = {}): LossFn<PolicyMicroBatch, ForwardModel> {
  const temperature = options.temperature ?? 1;
  const withEntropy = options.entropy ?? true;
  return ({ model, batch, globalTokenCount, globalSequenceCount }) => {
    const t = batch.targets;
    const R = t.response.shape[1]!;
    const resp = responseOnlyLogits(model, batch, R); // (B, R, V)
    const logprobs = F.tokenLogprobs(resp, t.response, { temperature }); // (B, R)
    return loss.forward({
      logprobs,
      advantages: t.advantages,
      paddingMask: t.paddingMask,
      ...(t.refLogprobs ? { refLogprobs: t.refLogprobs } : {}),
      ...(t.generatorLogprobs ? { generatorLogprobs: t.generatorLogprobs } : {}),
      ...(withEntropy ? { logits: resp } : {}),
      globalTokenCount,
      globalSequenceCount,
    });
  };
}

/**
 * Logits of the positions that predict response tokens. A model with `hiddenStates` + `logits`
 * (CausalLM) runs the LM head on those positions only, so the prompt's (B, P−1, V) logits and
 * their backward are never made.
 */
function responseOnlyLogits(model: ForwardModel, batch: PolicyMicroBatch, R: number): Tensor {
  const P = batch.targets.promptLength;
  const m = model as ForwardModel & { hiddenStates?: (ids: Tensor, o: { attentionMask?: Tensor }) => Tensor; logits?: (h: Tensor) => Tensor };
  if (typeof m.hiddenStates === "function" && typeof m.logits === "function") {
    const hidden = m.hiddenStates(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }); // (B, P+R, C)
    return m.logits(responseLogits(hidden, { promptLength: P, responseLength: R })); // (B, R, V)
  }
  const logits = model.forward(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }); // (B, P+R, V)
  return responseLogits(logits, { promptLength: P, responseLength: R });
}

/** Trained tokens and sequences of a policy micro-batch (from its padding mask). */
export function countPolicyTokens(batch: PolicyMicroBatch): { tokens: number; sequences: number } {
  return maskCounts(batch.targets.paddingMask);
}

export function maskCounts(mask: Tensor): { tokens: number; sequences: number } {
  const tokens = mask.to("float64");
  try {
    const sum = tokens.sum();
    try {
      return { tokens: sum.item(), sequences: mask.shape[0] ?? 1 };
    } finally {
      sum.dispose();
    }
  } finally {
    tokens.dispose();
  }
}
