/**
 * `torch.nn.functional` in camelCase. Fused paths (RMSNorm, rotary embedding, attention,
 * per-token logprobs) are single native calls.
 */
import { native, type FusedKernelCalls } from "./native.ts";
import { type DType, dtypeCode } from "./dtype.ts";
import { LOSS_REDUCTION } from "./op-codes.ts";
import { Tensor } from "./tensor.ts";

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(native.linear(input._h, weight._h, bias ? bias._h : null));
}

export function embedding(indices: Tensor, weight: Tensor): Tensor {
  return new Tensor(native.embedding(weight._h, indices._h));
}

export interface CrossEntropyOptions {
  /** Targets equal to this are ignored. @default -100 */
  ignoreIndex?: number;
  /** @default "mean" (over non-ignored targets) */
  reduction?: "none" | "mean" | "sum";
  /** @default 0 */
  labelSmoothing?: number;
}

/** Cross entropy of logits (N, C) against class indices (N). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const reduction = LOSS_REDUCTION[options.reduction ?? "mean"];
  if (reduction === undefined) throw new TypeError(`option 'reduction' must be none, mean or sum; got ${options.reduction}`);
  return new Tensor(native.crossEntropy(logits._h, target._h, options.ignoreIndex ?? -100, reduction, options.labelSmoothing ?? 0));
}

export function softmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return input.softmax(dim, options);
}
export function logSoftmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return input.logSoftmax(dim, options);
}
export const silu = (x: Tensor): Tensor => x.silu();
export const relu = (x: Tensor): Tensor => x.relu();
export const gelu = (x: Tensor): Tensor => x.gelu();

/** RMSNorm as in Llama: computed in float32, cast back, times `weight`. */
export function rmsNorm(input: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  return new Tensor(native.rmsNorm(input._h, weight ? weight._h : null, eps));
}

/**
 * A pre-norm block's residual add and the following RMSNorm in one call:
 * `sum = input + residual`, `normed = rmsNorm(sum, weight, eps)`. One pass on the CPU without autograd.
 */
export function addRmsNorm(input: Tensor, residual: Tensor, weight: Tensor | null, eps = 1e-6): { sum: Tensor; normed: Tensor } {
  const [sum, normed] = native.addRmsNorm(input._h, residual._h, weight ? weight._h : null, eps);
  return { sum: new Tensor(sum), normed: new Tensor(normed) };
}

/** SwiGLU's gate, `silu(gate) * up`; one pass on the CPU without autograd (gate/up may be views of one tensor). */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  return new Tensor(native.siluMul(gate._h, up._h));
}

/**
 * How often each fused CPU inference kernel (RMSNorm, rotary, SiLU·mul, attention against a
 * cache) ran in this process; the other calls took the composite path. For tests and profiling.
 */
export function fusedKernelCalls(): FusedKernelCalls {
  return native.fusedKernelCalls();
}

/**
 * Device-generic mode: every hand-written CPU path (fused RMSNorm/rotary/SiLU·mul/attention,
 * native sampling, MKL-packed linears) stands aside and libtorch's composite ops run, as they do
 * for CUDA tensors. Off by default; `TORCHFORGE_GENERIC_KERNELS=1` turns it on at start. Tests use
 * it to run the code a GPU would run on the CPU. Process-wide.
 */
export function setGenericKernels(on: boolean): void {
  native.setGenericKernels(on);
}

/** Whether device-generic mode is on (see `setGenericKernels`). */
export function genericKernels(): boolean {
  return native.genericKernels();
}

/** Runs `fn` (synchronous) with device-generic mode set to `on`, then restores the previous mode. */
export function withGenericKernels<T>(on: boolean, fn: () => T): T {
  const before = native.genericKernels();
  native.setGenericKernels(on);
  try {
    return fn();
  } finally {
    native.setGenericKernels(before);
  }
}

/** Rotary position embedding, rotate-half convention: `x*cos + rotateHalf(x)*sin`. */
export function applyRotaryEmb(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return new Tensor(native.applyRotary(x._h, cos._h, sin._h));
}

export interface AttentionOptions {
  /** Boolean (true = attend) or additive mask broadcastable to (B, H, Lq, Lk). */
  attnMask?: Tensor | null;
  /** Causal mask aligned to the last key, so a query chunk after a KV cache works. @default false */
  isCausal?: boolean;
  /** @default 1/sqrt(head_dim) */
  scale?: number;
  /**
   * A promise about the data, not a change to the result: keys and values `[0, keys[b])` of
   * batch row b are identical to those of row `rows[b]` (a prompt prefix shared by several
   * samples in a KV cache). The fused CPU kernel then reads them from that row, so a group
   * streams its prefix from memory once. int64 tensors of shape (B); rows must be in [0, B).
   */
  sharedPrefix?: { rows: Tensor; keys: Tensor } | null;
}

/**
 * Scaled dot-product attention over q (B, H, Lq, D), k/v (B, Hkv, Lk, D); Hkv may divide H
 * (grouped-query attention). Uses libtorch's fused kernel where the linked version has one.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const shared = options.sharedPrefix;
  return new Tensor(native.sdpa(q._h, k._h, v._h, options.attnMask ? options.attnMask._h : null, options.isCausal ?? false, options.scale ?? null, shared ? shared.rows._h : null, shared ? shared.keys._h : null));
}

export interface TokenLogprobOptions {
  /** Logits are divided by this first (sampling temperature). @default 1 */
  temperature?: number;
  /** Rows processed at once; bounds the float32 working set. @default 1024 */
  chunkRows?: number;
}

/** `logSoftmax(logits / T)` gathered at `targets`, without materialising the full log-softmax. */
export function tokenLogprobs(logits: Tensor, targets: Tensor, options: TokenLogprobOptions = {}): Tensor {
  return new Tensor(native.tokenLogprobs(logits._h, targets._h, options.temperature ?? 1, options.chunkRows ?? 1024));
}

export function oneHot(indices: Tensor, numClasses: number, options: { dtype?: DType } = {}): Tensor {
  const zeros = new Tensor(native.zeros([...indices.shape, numClasses], dtypeCode(options.dtype ?? "int64"), indices.device));
  const idx = indices.unsqueeze(-1);
  try {
    return zeros.scatter(-1, idx, 1);
  } finally {
    zeros.dispose();
    idx.dispose();
  }
}

export interface SampleFromProbsOptions {
  /** Keep only the k most likely tokens (0 = all). @default 0 */
  topK?: number;
  /** Keep the most likely tokens while the mass before each is < topP. @default 1 */
  topP?: number;
  /** Drop tokens below minP × the row's highest probability. @default 0 */
  minP?: number;
}

/**
 * One token per row of `probs` (R, V) (float32, rows need not be normalised), drawn by inverse
 * CDF with the row's `uniforms` (R, float64, in [0, 1)): the first token whose cumulative kept
 * probability exceeds u × (kept total), accumulated in float64. Without top-k/top-p the order is
 * the vocabulary's; with them, descending probability (ties: lower id first), truncated, then
 * min-p applied. Returns int64 token ids (R). On the CPU one native pass per row; on other
 * devices (and in device-generic mode) the same rule in composite ops (sort, cumsum) there.
 * @example const ids = F.sampleFromProbs(logits.softmax(-1), torch.rand([R], { dtype: "float64" }), { topP: 0.9 });
 */
export function sampleFromProbs(probs: Tensor, uniforms: Tensor, options: SampleFromProbsOptions = {}): Tensor {
  return new Tensor(native.sampleFromProbs(probs._h, uniforms._h, options.topK ?? 0, options.topP ?? 1, options.minP ?? 0));
}

export interface SampleFromLogitsOptions extends SampleFromProbsOptions {
  /** Logits are divided by this (> 0) first. @default 1 */
  temperature?: number;
}

/**
 * The draw `sampleFromProbs(softmax(logits / T), uniforms)` makes, plus `logSoftmax(logits / T)`
 * at each drawn token — in one pass per row that never materialises the (R, V) probabilities.
 * `logits` (R, V) float32 (on a GPU, or in device-generic mode, the composite path materialises
 * them after all), `uniforms` (R) float64 in [0, 1) on the CPU.
 */
export function sampleFromLogits(logits: Tensor, uniforms: Tensor, options: SampleFromLogitsOptions = {}): { tokens: Tensor; logprobs: Tensor } {
  const [tokens, logprobs] = native.sampleFromLogits(logits._h, uniforms._h, options.temperature ?? 1, options.topK ?? 0, options.topP ?? 1, options.minP ?? 0);
  return { tokens: new Tensor(tokens), logprobs: new Tensor(logprobs) };
}

export { linearPacked, packedLinearAvailable, packedLinearsActive, PackedLinearWeight, withPackedLinears } from "./packed-linear.ts";
