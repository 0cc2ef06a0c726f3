/**
 * Adapts a policy `Loss` (src/rl: `forward({ logprobs, advantages, paddingMask, ... })`) to the
 * trainer's `LossFn`: runs the model on one collated micro-batch, takes the response-token
 * logprobs and hands the step's global counts to the loss, so micro-batch losses sum to the
 * full-batch loss.
 */
import { F, torch, type Tensor } from "../torch/index.ts";
import { entropyFromLogits, responseLogits, type Loss, type TrainingInputs, type TrainingTargets } from "../rl/index.ts";
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
    // A loss with no entropy bonus only reports entropy: a CausalLM then gets it chunked and without
    // gradient, so the (B, R, V) logits never exist whole (they dominated a GRPO step's peak memory).
    const bonus = ((loss as { entropyCoef?: number }).entropyCoef ?? 0) !== 0;
    const { logprobs, resp, entropy } = responseLogprobs(model, batch, R, temperature, withEntropy, bonus); // (B, R), (B, R, V) | null, (B, R) | null
    return loss.forward({
      logprobs,
      ...(entropy ? { entropy } : {}),
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
 * Logprobs of the response tokens, and their logits (entropy bonus) or per-token entropy (metric
 * only) when the loss wants them. On a `HeadedModel` the LM head runs on the response positions
 * only, so the prompt's (B, P−1, V) logits and their backward are never made; unless the entropy
 * bonus needs whole logits with gradient, it runs in chunks.
 */
function responseLogprobs(
  model: ForwardModel,
  batch: PolicyMicroBatch,
  R: number,
  temperature: number,
  withEntropy: boolean,
  bonus: boolean,
): { logprobs: Tensor; resp: Tensor | null; entropy: Tensor | null } {
  const t = batch.targets;
  const span = { promptLength: t.promptLength, responseLength: R };
  if (isHeadedModel(model)) {
    const hidden = responseLogits(model.hiddenStates(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }), span); // (B, R, C)
    if (withEntropy && bonus) {
      const resp = model.logits(hidden); // (B, R, V)
      return { logprobs: F.tokenLogprobs(resp, t.response, { temperature }), resp, entropy: null };
    }
    const logprobs = model.logprobsFromHidden(hidden, t.response, { temperature });
    return { logprobs, resp: null, entropy: withEntropy ? chunkedEntropy(model, hidden) : null };
  }
  const resp = responseLogits(model.forward(batch.inputs.tokens, { attentionMask: batch.inputs.attentionMask }), span); // (B, R, V)
  return { logprobs: F.tokenLogprobs(resp, t.response, { temperature }), resp: withEntropy ? resp : null, entropy: null };
}

/** Elements of one chunk's logits (rows × vocab): 32 MiB of float32, as the LM head's logprob chunks. */
const ENTROPY_CHUNK_ELEMENTS = 2 ** 23;

/**
 * Per-token entropy (B, R) of the LM head's logits at `hidden` (B, R, C), without gradient, a chunk
 * of positions at a time. Same value as `entropyFromLogits(model.logits(hidden))`, the metric the
 * loss computes from whole logits.
 */
export function chunkedEntropy(model: HeadedModel, hidden: Tensor, chunkElements = ENTROPY_CHUNK_ELEMENTS): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const [B, R, C] = hidden.shape as [number, number, number];
      const n = B * R;
      const flat = hidden.detach().reshape(n, C);
      const rows = Math.max(1, Math.floor(chunkElements / vocabSize(model, flat)));
      const parts: Tensor[] = [];
      for (let start = 0; start < n; start += rows) {
        const len = Math.min(rows, n - start);
        parts.push(torch.tidy(() => entropyFromLogits(model.logits(flat.narrow(0, start, len)))));
      }
      return torch.cat(parts, 0).view(B, R);
    }),
  );
}

/** The LM head's output width: a CausalLM's config, else one row's logits. */
function vocabSize(model: HeadedModel, flatHidden: Tensor): number {
  const v = (model as { config?: { vocabSize?: unknown } }).config?.vocabSize;
  if (typeof v === "number" && v > 0) return v;
  return torch.tidy(() => model.logits(flatHidden.narrow(0, 0, 1)).shape[1]!);
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
