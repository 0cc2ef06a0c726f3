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
    const { logprobs, resp } = responseLogprobs(model, batch, R, temperature, withEntropy); // (B, R), (B, R, V) | null
    return loss.forward({
      logprobs,
      advantages: t.advantages,
      paddingMask: t.paddingMask,
      ...(t.refLogprobs ? { refLogprobs: t.refLogprobs } : {}),
      ...(t.generatorLogprobs ? { generatorLogprobs: t.generatorLogprobs } : {}),
      ...(resp ? { logits: resp } : {}),
      globalTokenCount,
      globalSequenceCount,
    });
  };
}

/** A model with separate trunk and LM head (CausalLM). */
export interface HeadedModel extends ForwardModel {
  hiddenStates(inputIds: Tensor, options?: { attentionMask?: Tensor }): Tensor;
  logits(hidden: Tensor): Tensor;
  logprobsFromHidden(hidden: Tensor, targets: Tensor, options?: { temperature?: number }): Tensor;
}

export function isHeadedModel(m: ForwardModel): m is HeadedModel {
  const x = m as unknown as Partial<HeadedModel>;
  return typeof x.hiddenStates === "function" && typeof x.logits === "function" && typeof x.logprobsFromHidden === "function";
}

/**
 * Logprobs of the response tokens, and their logits when the loss wants them (entropy). On a
 * `HeadedModel` the LM head runs on the response positions only, so the prompt's (B, P−1, V)
 * logits and their backward are never made; without entropy it runs in chunks (no whole logits).
 */
function responseLogprobs(model: ForwardModel, batch: PolicyMicroBatch, R: number, temperature: number, withLogits: boolean): { logprobs: Tensor; resp: Tensor | null } {
  const t = batch.targets;
  const span = { promptLength: t.promptLength, responseLength: R };
  if (isHeadedModel(model)) {
    const hidden = responseLogits(model.hiddenStates(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }), span); // (B, R, C)
    if (!withLogits) return { logprobs: model.logprobsFromHidden(hidden, t.response, { temperature }), resp: null };
    const resp = model.logits(hidden); // (B, R, V)
    return { logprobs: F.tokenLogprobs(resp, t.response, { temperature }), resp };
  }
  const resp = responseLogits(model.forward(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }), span); // (B, R, V)
  return { logprobs: F.tokenLogprobs(resp, t.response, { temperature }), resp: withLogits ? resp : null };
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
