/** Shape checks with messages naming both tensors, and normalisation of mask/advantages dtypes. */
import type { Tensor } from "../../torch/index.ts";
import { RLOptionError, ShapeMismatchError } from "../errors.ts";
import type { PolicyLossInput } from "./types.ts";

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Throws unless `t` has exactly the shape of `logprobs`. */
export function expectSameShape(field: string, t: Tensor, logprobsShape: readonly number[]): void {
  if (!same(t.shape, logprobsShape)) throw new ShapeMismatchError(field, t.shape, `the shape of 'logprobs' ${fmt(logprobsShape)}`);
}

export interface CheckedInput {
  /** paddingMask in logprobs' dtype, (B, T). */
  mask: Tensor;
  /** advantages in logprobs' dtype, broadcastable as (B, 1) or (B, T). */
  advantages: Tensor;
}

/** Validates shapes (throwing `ShapeMismatchError`) and returns mask/advantages ready for arithmetic. */
export function checkLossInput(input: PolicyLossInput): CheckedInput {
  const { logprobs, paddingMask, advantages } = input;
  if (logprobs === undefined) throw new RLOptionError("logprobs", "a (B, T) tensor", undefined);
  const s = logprobs.shape;
  if (s.length !== 2) throw new ShapeMismatchError("logprobs", s, "2-d (B sequences, T response tokens)");
  if (paddingMask === undefined) throw new RLOptionError("paddingMask", `a ${fmt(s)} tensor`, undefined);
  expectSameShape("paddingMask", paddingMask, s);
  if (advantages === undefined) throw new RLOptionError("advantages", "a (B), (B, 1) or (B, T) tensor", undefined);
  const a = advantages.shape;
  const ok = (a.length === 1 && a[0] === s[0]) || (a.length === 2 && a[0] === s[0] && (a[1] === 1 || a[1] === s[1]));
  if (!ok) throw new ShapeMismatchError("advantages", a, `(B), (B, 1) or (B, T) with 'logprobs' ${fmt(s)}`);
  for (const f of ["refLogprobs", "oldLogprobs", "generatorLogprobs", "entropy"] as const) {
    const t = input[f];
    if (t !== undefined) expectSameShape(f, t, s);
  }
  if (input.logits !== undefined) {
    const l = input.logits.shape;
    if (l.length !== 3 || l[0] !== s[0] || l[1] !== s[1]) throw new ShapeMismatchError("logits", l, `(B, T, V) with 'logprobs' ${fmt(s)}`);
  }
  for (const f of ["globalTokenCount", "globalSequenceCount"] as const) {
    const v = input[f];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RLOptionError(f, "a finite number >= 0", v);
  }
  const dtype = logprobs.dtype;
  const mask = paddingMask.to(dtype);
  const adv = a.length === 1 ? advantages.to(dtype).unsqueeze(-1) : advantages.to(dtype);
  return { mask, advantages: adv };
}
