/**
 * Token sampling from a batch of logits: temperature, top-k, top-p, min-p, greedy.
 *
 * Randomness comes from one uniform number per row, drawn by the caller from that sequence's
 * own seeded stream (see rng.ts), and is turned into a token by inverse-CDF lookup on the
 * filtered distribution. So a sequence's samples do not depend on which other sequences share
 * its batch — the property behind "shared prefix = independent" and "continuous batching =
 * one by one".
 *
 * Reported logprobs are of the temperature-scaled, *untruncated* distribution,
 * `logSoftmax(logits / T)[token]` — exactly what the trainer computes with
 * `F.tokenLogprobs(logits, targets, { temperature: T })`. Greedy uses T = 1.
 */
import { F, torch, type Tensor } from "../torch/index.ts";

export interface ResolvedSampling {
  /** 0 means greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  /** Alternatives to report per token (0 = none). */
  logprobs: number;
}

export interface SampledTokens {
  tokens: number[];
  logprobs: number[];
  /** Per row: the `logprobs` most likely tokens and their logprobs. */
  top?: { tokenIds: number[]; logprobs: number[] }[];
}

/**
 * Samples one token per row of `logits` (R, V).
 * @param uniforms R numbers in [0, 1), one per row (ignored when greedy)
 */
export function sampleTokens(logits: Tensor, params: ResolvedSampling, uniforms: number[]): SampledTokens {
  return torch.tidy(() => {
    const [R, V] = logits.shape as [number, number];
    // The draw is native and CPU-only, so logits on another device come to the CPU (both
    // F.sampleFromLogits and F.sampleFromProbs refuse other devices; issue 16 mutation testing).
    const x = logits.to({ dtype: "float32", device: "cpu" });
    const greedy = params.temperature === 0;
    if (!greedy && params.logprobs === 0) {
      // One native pass per row: probabilities in a scratch row, only the drawn logprob kept.
      const drawn = F.sampleFromLogits(x, torch.tensor(Float64Array.from(uniforms), { shape: [R] }), {
        temperature: params.temperature,
        topK: params.topK,
        topP: params.topP,
        minP: params.minP,
      });
      return { tokens: drawn.tokens.toFlatArray(), logprobs: drawn.logprobs.toFlatArray() };
    }
    const logp = (greedy || params.temperature === 1 ? x : x.div(params.temperature)).logSoftmax(-1); // (R, V)
    // Greedy is the argmax; otherwise an inverse-CDF draw from the (truncated) distribution in
    // one native pass per row (F.sampleFromProbs: float64 sums, top-k/top-p sort only the
    // tokens that can survive).
    const tokens = greedy
      ? x.argmax(-1)
      : F.sampleFromProbs(logp.exp(), torch.tensor(Float64Array.from(uniforms), { shape: [R] }), {
          topK: params.topK, // ≥ V keeps everything, as 0 does
          topP: params.topP,
          minP: params.minP,
        }); // (R)
    const chosen = logp.gather(1, tokens.unsqueeze(1)).squeeze(1); // (R)
    const out: SampledTokens = { tokens: tokens.toFlatArray(), logprobs: chosen.toFlatArray() };
    if (params.logprobs > 0) {
      const top = logp.topk(Math.min(params.logprobs, V), { dim: -1 });
      const ids = top.indices.toFlatArray();
      const lps = top.values.toFlatArray();
      const k = top.indices.shape[1]!;
      out.top = Array.from({ length: R }, (_, r) => ({ tokenIds: ids.slice(r * k, r * k + k), logprobs: lps.slice(r * k, r * k + k) }));
    }
    return out;
  });
}
