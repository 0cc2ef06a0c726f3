/**
 * Tiny, seeded, randomly initialised models of each family (the `debug` flavour, as torchtitan
 * has): fast enough for unit tests and the built-in default task, yet exercising every switch
 * of the family (GQA, qkv bias, q/k norm, llama3 rope scaling, tied embeddings).
 */
import { torch, nn, type DType } from "../torch/index.ts";
import type { ModelConfig, ModelFamily } from "./config.ts";
import { CausalLM } from "./llama.ts";

/** The debug flavour: dim 64, 2 layers, 4 query heads over 2 kv heads, vocab 128. */
export function debugConfig(family: ModelFamily, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base: ModelConfig = {
    family,
    vocabSize: 128,
    hiddenSize: 64,
    intermediateSize: 176,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    maxPositionEmbeddings: 512,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeScaling: null,
    qkvBias: family === "qwen2",
    oBias: false,
    mlpBias: false,
    qkNorm: family === "qwen3",
    tieWordEmbeddings: family === "qwen2" || family === "qwen3",
  };
  if (family === "llama") {
    base.ropeTheta = 500000;
    base.ropeScaling = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
  }
  if (family === "qwen2" || family === "qwen3") base.ropeTheta = 1000000;
  return { ...base, ...overrides };
}

export interface RandomModelOptions {
  /** Seed for the weights (the global libtorch generator is reseeded). @default 0 */
  seed?: number;
  /** Std of the normal init of every matrix (HF's initializer_range). @default 0.02 */
  initStd?: number;
  /** @default "float32" */
  dtype?: DType;
  /** @default "cpu" */
  device?: string;
}

/** A model with seeded N(0, initStd) weights, zero biases and unit norms. */
export function randomModel(config: ModelConfig, options: RandomModelOptions = {}): CausalLM {
  torch.manualSeed(options.seed ?? 0);
  const model = torch.noGrad(() => new CausalLM(config, { device: options.device }));
  const std = options.initStd ?? 0.02;
  torch.noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      if (name.endsWith("norm.weight")) nn.init.ones_(p);
      else if (name.endsWith(".bias")) nn.init.zeros_(p);
      else nn.init.normal_(p, 0, std);
    }
  });
  if (options.dtype && options.dtype !== "float32") model.to(options.dtype);
  return model;
}

/** `randomModel(debugConfig(family))`. */
export function debugModel(family: ModelFamily, options: RandomModelOptions & { overrides?: Partial<ModelConfig> } = {}): CausalLM {
  return randomModel(debugConfig(family, options.overrides), options);
}
