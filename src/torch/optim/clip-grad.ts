/** `torch.nn.utils.clip_grad_norm_`: scales gradients in place; returns the norm before clipping. */
import type { Tensor } from "../tensor.ts";
import { native } from "../native.ts";

export function clipGradNorm(params: Tensor[], maxNorm: number, options: { /** @default 2 */ normType?: number } = {}): number {
  if (!(maxNorm > 0)) throw new TypeError(`argument 'maxNorm' must be > 0; got ${maxNorm}`);
  return native.clipGradNorm(params.map((p) => p._h), maxNorm, options.normType ?? 2);
}
