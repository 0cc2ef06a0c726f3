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
import { torch, type Tensor } from "../torch/index.ts";

/** Candidates kept for top-p when no top-k is given (a full sort is the fallback). */
const CANDIDATES = 256;

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
    const x = logits.dtype === "float32" ? logits : logits.to("float32");
    const greedy = params.temperature === 0;
    const logp = (greedy ? x : x.div(params.temperature)).logSoftmax(-1); // (R, V)
    let tokens: Tensor;
    if (greedy) {
      tokens = x.argmax(-1); // (R)
    } else {
      const probs = logp.exp(); // (R, V)
      const truncate = (params.topK > 0 && params.topK < V) || params.topP < 1;
      let p = probs;
      let order: Tensor | null = null;
      if (truncate) {
        // Only the head of the sorted distribution can survive truncation: take top-k candidates
        // (k = topK, or 256 when their mass already covers topP in every row) instead of sorting
        // the whole vocabulary, which costs ~10x more for a 150k vocab.
        const useTopK = params.topK > 0 && params.topK < V;
        let k = useTopK ? params.topK : Math.min(V, CANDIDATES);
        let sorted = k < V ? probs.topk(k, { dim: -1 }) : probs.sort({ dim: -1, descending: true });
        if (!useTopK && k < V && sorted.values.sum(-1).amin().item() < params.topP) {
          sorted = probs.sort({ dim: -1, descending: true });
          k = V;
        }
        p = sorted.values; // (R, k), descending
        order = sorted.indices;
        let keep = torch.ones([R, k], { dtype: "bool", device: x.device });
        if (params.topP < 1) {
          // Keep a token while the mass before it is < topP (so the top token always stays).
          const before = p.cumsum(-1).sub(p);
          keep = keep.logicalAnd(before.lt(params.topP));
        }
        p = p.mul(keep);
      }
      if (params.minP > 0) {
        const threshold = probs.amax(-1, { keepdim: true }).mul(params.minP);
        p = p.mul(p.ge(threshold));
      }
      // Inverse CDF in float64: index = #(cdf <= u * total), the first index whose cdf exceeds u.
      const cdf = p.to("float64").cumsum(-1); // (R, k)
      const width = cdf.shape[1]!;
      const total = cdf.narrow(1, width - 1, 1);
      const u = torch.tensor(Float64Array.from(uniforms), { shape: [R, 1], device: x.device });
      const idx = cdf.le(u.mul(total)).sum(-1, { dtype: "int64" }).clampMax(width - 1); // (R)
      tokens = order ? order.gather(1, idx.unsqueeze(1)).squeeze(1) : idx;
    }
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
