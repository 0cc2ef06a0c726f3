/**
 * Reducing a per-token loss (B, T) to a scalar. The denominators are GLOBAL counts passed in by
 * the caller, so a step split into micro-batches (or ranks) sums to exactly the full-batch loss
 * and gradient:
 *
 * - token-mean:               Σ_i Σ_t m·x / N_tokens                     (DAPO)
 * - seq-mean-token-mean:      Σ_i (Σ_t m·x / max(|y_i|, 1)) / N_seqs     (GRPO)
 * - seq-mean-token-sum:       Σ_i Σ_t m·x / N_seqs
 * - seq-mean-token-sum-norm:  Σ_i Σ_t m·x / (N_seqs · maxTokens)         (Dr.GRPO: constant normaliser)
 *
 * Padded positions are removed by selection (`where`), so they may hold NaN or ±inf.
 *
 * With no global counts given, each micro-batch normalises by its own counts (correct for a
 * single micro-batch only).
 */
import { torch, type Tensor } from "../../torch/index.ts";
import { RLOptionError } from "../errors.ts";

export type AggregationMode = "token-mean" | "seq-mean-token-mean" | "seq-mean-token-sum" | "seq-mean-token-sum-norm";
export const AGGREGATION_MODES: readonly AggregationMode[] = ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"];

export interface AggregateOptions {
  /** @default "token-mean" */
  mode?: AggregationMode;
  /** Trained tokens in the whole step. @default mask.sum() of this call (at least 1) */
  globalTokenCount?: number;
  /** Sequences in the whole step. @default B of this call */
  globalSequenceCount?: number;
  /** Constant length normaliser of seq-mean-token-sum-norm (e.g. the max response length). @default T */
  maxTokens?: number;
}

/** Scalar (0-d) loss from per-token `values` (B, T) and `mask` (B, T, 0/1 in values' dtype). */
export function aggregate(values: Tensor, mask: Tensor, options: AggregateOptions = {}): Tensor {
  const mode = options.mode ?? "token-mean";
  const [B, T] = values.shape as [number, number];
  return torch.tidy(() => {
    // Selection, not just multiplication: NaN·0 is NaN, so a non-finite padded value would poison the sum.
    const masked = torch.where(mask.gt(0), values.mul(mask), 0);
    const seqs = options.globalSequenceCount ?? B;
    switch (mode) {
      case "token-mean": {
        const tokens = options.globalTokenCount ?? mask.sum().item();
        return masked.sum().div(Math.max(tokens, 1));
      }
      case "seq-mean-token-mean": {
        const perSeq = masked.sum(-1).div(mask.sum(-1).clampMin(1));
        return perSeq.sum().div(Math.max(seqs, 1));
      }
      case "seq-mean-token-sum":
        return masked.sum().div(Math.max(seqs, 1));
      case "seq-mean-token-sum-norm": {
        const maxTokens = options.maxTokens ?? T;
        if (!(maxTokens > 0)) throw new RLOptionError("maxTokens", "a number > 0", maxTokens);
        return masked.sum().div(Math.max(seqs, 1) * maxTokens);
      }
      default:
        throw new RLOptionError("aggregation", AGGREGATION_MODES.map((m) => `"${m}"`).join(", "), mode);
    }
  });
}

/** Global counts for a step from all its micro-batch masks: pass them to every micro-batch's `forward`. */
export function globalCounts(masks: readonly Tensor[]): { globalTokenCount: number; globalSequenceCount: number } {
  let tokens = 0;
  let seqs = 0;
  for (const m of masks) {
    tokens += torch.tidy(() => m.to("float64").sum().item());
    seqs += m.shape[0]!;
  }
  return { globalTokenCount: tokens, globalSequenceCount: seqs };
}
