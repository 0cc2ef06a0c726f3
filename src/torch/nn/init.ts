/** Parameter initialisers (`torch.nn.init`), in place and without autograd history. */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd.ts";

function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new TypeError(`fan in/out needs a tensor with at least 2 dims; got shape [${s}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

export const uniform_ = (t: Tensor, low = 0, high = 1): Tensor => noGrad(() => t.uniform_(low, high));
export const normal_ = (t: Tensor, mean = 0, std = 1): Tensor => noGrad(() => t.normal_(mean, std));
export const zeros_ = (t: Tensor): Tensor => noGrad(() => t.zero_());
export const ones_ = (t: Tensor): Tensor => noGrad(() => t.fill_(1));
export const constant_ = (t: Tensor, value: number): Tensor => noGrad(() => t.fill_(value));

/** Kaiming-uniform for a leaky ReLU slope `a` (PyTorch's Linear default uses a = √5). */
export function kaimingUniform_(t: Tensor, options: { a?: number } = {}): Tensor {
  const a = options.a ?? 0;
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fans(t).fanIn);
  return uniform_(t, -bound, bound);
}

export function xavierUniform_(t: Tensor, options: { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, options: { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)));
}

export { fans as calculateFanInAndFanOut };
