/**
 * Train-vs-generator mismatch correction. The inference engine (different kernels, precision,
 * batch shapes) samples from π_gen, not exactly the trainer's π_old; reweighting each token by
 * w = π_old/π_gen fixes the bias. Raw w has unbounded variance, so:
 * - "truncate" (TIS): w ← min(w, cap)
 * - "mask" (MIS):     w ← w · 1[w ≤ cap]   (tokens with a wild ratio drop out entirely)
 * Weights are detached: they rescale the gradient, they are not optimised.
 */
import { torch, type Tensor } from "../../torch/index.ts";
import { RLOptionError } from "../errors.ts";
import { LOG_RATIO_CLAMP } from "./ratio.ts";

export interface ImportanceSamplingOptions {
  /** @default "truncate" */
  mode?: "truncate" | "mask";
  /** Largest weight kept. @default 2 */
  cap?: number;
}

/** Detached per-token weights (B, T) and a 0/1 tensor of the tokens masked out (mode "mask"). */
export function mismatchWeights(oldLogprobs: Tensor, generatorLogprobs: Tensor, options: ImportanceSamplingOptions = {}): { weights: Tensor; masked: Tensor } {
  const mode = options.mode ?? "truncate";
  const cap = options.cap ?? 2;
  if (!(cap > 0)) throw new RLOptionError("importanceSampling.cap", "a number > 0", cap);
  return torch.tidy(() => {
    const w = oldLogprobs.detach().sub(generatorLogprobs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP).exp();
    if (mode === "truncate") return { weights: w.clampMax(cap), masked: torch.zerosLike(w) };
    if (mode === "mask") {
      const over = w.gt(cap);
      return { weights: w.maskedFill(over, 0), masked: over.to(w.dtype) };
    }
    throw new RLOptionError("importanceSampling.mode", '"truncate" or "mask"', mode);
  });
}
