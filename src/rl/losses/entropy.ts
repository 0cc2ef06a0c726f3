/** Policy entropy per token from logits: H = logsumexp(z) − Σ softmax(z)·z, with z = logits / T. */
import { torch, type Tensor } from "../../torch/index.ts";

/** Entropy over the last dim: logits (B, T, V) → (B, T). Differentiable. Computed in float32 at least. */
export function entropyFromLogits(logits: Tensor, options: { temperature?: number } = {}): Tensor {
  return torch.tidy(() => {
    const t = options.temperature ?? 1;
    const up = logits.dtype === "float64" ? logits : logits.float();
    const z = t === 1 ? up : up.div(t);
    return z.logsumexp(-1).sub(z.softmax(-1).mul(z).sum(-1));
  });
}
