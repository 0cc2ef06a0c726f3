/** The basic layers a Llama-family decoder needs: `Linear`, `Embedding`, `RMSNorm`. */
import { Module } from "./module.ts";
import { Tensor } from "../tensor.ts";
import { cat, empty, ones, zeros } from "../creation.ts";
import { keep } from "../scope.ts";
import type { DType } from "../dtype.ts";
import * as F from "../functional.ts";
import { native } from "../native.ts";
import * as init from "./init.ts";

export interface LayerOptions {
  /** @default "float32" */
  dtype?: DType;
  /** @default "cpu" */
  device?: string;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`argument '${name}' must be a positive integer; got ${value}`);
  return value;
}

/**
 * A branch added to a `Linear`'s output without touching its weight (a LoRA adapter):
 * `y = x Wᵀ + b + adapter.forward(x)`. The adapter is not a registered child, so the layer's
 * state dict (a checkpoint) stays the base model's.
 */
export interface LinearAdapter {
  forward(x: Tensor): Tensor;
}

/** `y = x Wᵀ + b`, initialised like PyTorch (Kaiming-uniform with a = √5). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LayerOptions & { /** @default true */ bias?: boolean } = {},
  ) {
    super();
    positiveInt(inFeatures, "inFeatures");
    positiveInt(outFeatures, "outFeatures");
    const o = { dtype: options.dtype, device: options.device };
    this.weight = this.registerParameter("weight", init.kaimingUniform_(empty([outFeatures, inFeatures], o), { a: Math.sqrt(5) }));
    if (options.bias ?? true) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = this.registerParameter("bias", init.uniform_(empty([outFeatures], o), -bound, bound));
    } else {
      this.bias = this.registerParameter("bias", null);
    }
  }
  /**
   * An MKL-packed copy of `weight` for fast fp32 inference, or null. `forward` uses it only
   * inside `F.withPackedLinears(...)`, with autograd not recording and a float32 CPU input.
   * Whoever sets it keeps it current: `GenerationEngine({ packWeights: true })` packs at the
   * start of each `generate` call, wraps only its own forwards, and clears it at the end.
   */
  inferencePack: F.PackedLinearWeight | null = null;
  /** An unmerged adapter whose output is added to this layer's (see `LinearAdapter`), or null. */
  adapter: LinearAdapter | null = null;

  forward(x: Tensor): Tensor {
    const y = this.baseForward(x);
    return this.adapter ? y.add(this.adapter.forward(x)) : y;
  }

  /** The layer without its adapter: `x Wᵀ + b`. */
  baseForward(x: Tensor): Tensor {
    if (this.inferencePack !== null && F.packedLinearsActive() && !native.isGradEnabled() && x.dtype === "float32" && x.device === "cpu") {
      return F.linearPacked(x, this.inferencePack, this.bias);
    }
    return F.linear(x, this.weight, this.bias);
  }
}

/**
 * Linear layers that read the same input (attention's q/k/v, SwiGLU's gate/up) and can run as
 * one GEMM over their weights stacked and packed together — for inference, like
 * `Linear.inferencePack` (fewer, larger GEMMs: ~5 % faster at decode sizes). The layers keep
 * their own parameters and names; the group only holds the packed form while one is installed.
 */
export class LinearGroup {
  #pack: F.PackedLinearWeight | null = null;
  /** The biases stacked like the weights, built once per installed pack (undefined: not yet). */
  #stackedBias: Tensor | null | undefined = undefined;

  /** The layers' weights stacked on the output axis and packed, or null; see `Linear.inferencePack`. */
  get inferencePack(): F.PackedLinearWeight | null {
    return this.#pack;
  }
  set inferencePack(pack: F.PackedLinearWeight | null) {
    this.#pack = pack;
    this.#stackedBias?.dispose();
    this.#stackedBias = undefined;
  }

  constructor(readonly linears: readonly Linear[]) {
    if (linears.length === 0) throw new TypeError("argument 'linears' must not be empty");
    const k = linears[0]!.inFeatures;
    if (linears.some((l) => l.inFeatures !== k)) throw new TypeError("argument 'linears' must all have the same inFeatures");
  }

  /** Every layer's output for `x`, in order: one packed GEMM when a pack is in effect, else one per layer. */
  forward(x: Tensor): Tensor[] {
    const pack = this.inferencePack;
    if (pack === null || !F.packedLinearsActive() || native.isGradEnabled() || x.dtype !== "float32" || x.device !== "cpu") {
      return this.linears.map((l) => l.forward(x));
    }
    // Stacked with the pack, like the weights: a bias written later is seen at the next packing.
    this.#stackedBias ??= this.linears.some((l) => l.bias !== null) ? keep(cat(this.linears.map((l) => l.bias ?? zeros([l.outFeatures], { device: x.device })), 0)) : null;
    const y = F.linearPacked(x, pack, this.#stackedBias);
    let at = 0;
    return this.linears.map((l) => {
      const part = y.narrow(-1, at, l.outFeatures);
      at += l.outFeatures;
      // The pack holds the base weights only: unmerged adapters add their branch per layer.
      return l.adapter ? part.add(l.adapter.forward(x)) : part;
    });
  }

  /** The stacked weight (sum of outFeatures, inFeatures), for packing. */
  stackedWeight(): Tensor {
    return cat(this.linears.map((l) => l.weight), 0);
  }
}

/** A module whose forward can use `LinearGroup`s (found by `GenerationEngine` when it packs weights). */
export interface HasLinearGroups {
  linearGroups(): LinearGroup[];
}

export function hasLinearGroups(m: unknown): m is HasLinearGroups {
  return typeof (m as Partial<HasLinearGroups>)?.linearGroups === "function";
}

/** A lookup table of `numEmbeddings` vectors, initialised N(0, 1) like PyTorch. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: LayerOptions = {},
  ) {
    super();
    positiveInt(numEmbeddings, "numEmbeddings");
    positiveInt(embeddingDim, "embeddingDim");
    this.weight = this.registerParameter("weight", init.normal_(empty([numEmbeddings, embeddingDim], options)));
  }
  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight);
  }
}

/** Root-mean-square layer norm (Llama), weight initialised to ones. */
export class RMSNorm extends Module {
  readonly weight: Tensor;
  readonly eps: number;
  constructor(
    readonly dim: number,
    options: LayerOptions & { /** @default 1e-6 */ eps?: number } = {},
  ) {
    super();
    positiveInt(dim, "dim");
    this.eps = options.eps ?? 1e-6;
    this.weight = this.registerParameter("weight", ones([dim], options));
  }
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.weight, this.eps);
  }
  /** `sum = x + residual` and its norm, in one pass where the fused kernel applies (see `F.addRmsNorm`). */
  addForward(x: Tensor, residual: Tensor): { sum: Tensor; normed: Tensor } {
    return F.addRmsNorm(x, residual, this.weight, this.eps);
  }
}
