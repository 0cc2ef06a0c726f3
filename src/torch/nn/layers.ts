/** The basic layers a Llama-family decoder needs: `Linear`, `Embedding`, `RMSNorm`. */
import { Module } from "./module.ts";
import { Tensor } from "../tensor.ts";
import { empty, ones } from "../creation.ts";
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

  forward(x: Tensor): Tensor {
    if (this.inferencePack !== null && F.packedLinearsActive() && !native.isGradEnabled() && x.dtype === "float32" && x.device === "cpu") {
      return F.linearPacked(x, this.inferencePack, this.bias);
    }
    return F.linear(x, this.weight, this.bias);
  }
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
}
