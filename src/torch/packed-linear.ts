/**
 * fp32 linear layers with MKL-packed weights, for inference. At the small row counts of batched
 * decoding, MKL re-packs a weight matrix on every call and that copy costs as much as the
 * multiply; packing once (per generate call, say) and multiplying with the packed form is
 * 1.3-1.4× faster for a 100M-parameter model's shapes in isolation. Available only when libtorch's BLAS is MKL
 * (`packedLinearAvailable()`; PyPI's x86 builds), and only for float32 CPU tensors.
 *
 * The packed copy does not follow later writes to the weight: whoever packs must repack after
 * the weight changes (GenerationEngine does at the start of every `generate` call).
 */
import { native } from "./native.ts";
import { Tensor } from "./tensor.ts";
import { keep } from "./scope.ts";

let activeDepth = 0;

/**
 * Runs `fn` (synchronous) with layers' `inferencePack` in effect. Outside such a call every
 * `Linear` uses its real weight, so a pack can never leak into another caller's forward (a
 * trainer's no-grad logprob pass between two decode steps, say).
 */
export function withPackedLinears<T>(fn: () => T): T {
  activeDepth++;
  try {
    return fn();
  } finally {
    activeDepth--;
  }
}

/** Whether the current code runs inside `withPackedLinears`. */
export function packedLinearsActive(): boolean {
  return activeDepth > 0;
}

/** Whether this libtorch build has MKL's packed GEMM. */
export function packedLinearAvailable(): boolean {
  return native.packedLinearAvailable();
}

export class PackedLinearWeight {
  /** The packed bytes (uint8). MKL asks for up to ~3× the weight's size but writes ~1× of it; the rest stays untouched virtual memory. */
  readonly packed: Tensor;
  readonly outFeatures: number;
  readonly inFeatures: number;

  private constructor(packed: Tensor, outFeatures: number, inFeatures: number) {
    this.packed = packed;
    this.outFeatures = outFeatures;
    this.inFeatures = inFeatures;
  }

  /**
   * Packs `weight` (outFeatures, inFeatures), float32 on the CPU. Throws a `TorchError` when
   * `packedLinearAvailable()` is false.
   */
  static pack(weight: Tensor): PackedLinearWeight {
    const [n, k] = weight.shape as [number, number];
    return new PackedLinearWeight(new Tensor(native.packLinearWeight(weight._h, null)), n, k);
  }

  /** Packs a weight of the same shape into this buffer again (no new memory). */
  repack(weight: Tensor): void {
    const s = weight.shape;
    if (s.length !== 2 || s[0] !== this.outFeatures || s[1] !== this.inFeatures) {
      throw new TypeError(`argument 'weight' must have shape [${this.outFeatures}, ${this.inFeatures}] to repack; got [${s.join(", ")}]`);
    }
    native.packLinearWeight(weight._h, this.packed._h);
  }

  /** Keeps the packed buffer alive past the enclosing `tidy` (like `torch.keep`). */
  keep(): this {
    keep(this.packed);
    return this;
  }

  dispose(): void {
    this.packed.dispose();
  }
}

/** `input · Wᵀ + bias` with W given packed; same result as `F.linear` up to float rounding. */
export function linearPacked(input: Tensor, weight: PackedLinearWeight, bias: Tensor | null = null): Tensor {
  return new Tensor(native.linearPacked(input._h, weight.packed._h, weight.outFeatures, weight.inFeatures, bias ? bias._h : null));
}
