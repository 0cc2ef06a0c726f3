/**
 * The decoder's `ModelConfig` from a GGUF file's metadata (`general.architecture` and the
 * `<arch>.*` keys llama.cpp writes) and its tensor table (biases, tied embeddings).
 *
 * As with config.json, anything that changes the math and is not implemented (mixture of experts,
 * partial RoPE, YaRN/linear RoPE scaling, another architecture) is a `ModelConfigError` naming the
 * GGUF key, never silently ignored. Llama 3.1's RoPE scaling travels as a `rope_freqs` tensor, not
 * metadata; the loader recovers it (see `llama3ScalingFromFactors`).
 */
import type { GgufValue } from "../torch/gguf.ts";
import type { Llama3RopeScaling, ModelConfig, ModelFamily } from "./config.ts";
import { ropeInverseFrequencies } from "./llama.ts";
import { ModelConfigError } from "./errors.ts";

/** GGUF architectures this decoder implements and the family each maps to. */
export const GGUF_ARCHITECTURES: Record<string, ModelFamily> = { llama: "llama", qwen2: "qwen2", qwen3: "qwen3" };

export interface GgufConfigSource {
  metadata: ReadonlyMap<string, GgufValue>;
  /** Tensor names in the file. */
  tensorNames: ReadonlySet<string> | ReadonlyArray<string>;
  /** File path for error messages. */
  path?: string;
}

/** Reads the decoder config from GGUF metadata. */
export function ggufModelConfig(src: GgufConfigSource): ModelConfig {
  const { metadata, path: source } = src;
  const names = new Set(src.tensorNames);
  const arch = metadata.get("general.architecture");
  if (typeof arch !== "string" || !(arch in GGUF_ARCHITECTURES)) {
    throw new ModelConfigError("general.architecture", arch, `one of ${Object.keys(GGUF_ARCHITECTURES).join(", ")}`, { source });
  }
  const family = GGUF_ARCHITECTURES[arch]!;
  const key = (k: string): string => `${arch}.${k}`;
  const int = (k: string, fallback?: number): number => {
    const v = metadata.get(key(k)) ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new ModelConfigError(key(k), v, "a positive integer", { source });
    return v;
  };
  const num = (k: string, fallback?: number): number => {
    const v = metadata.get(key(k)) ?? fallback;
    if (typeof v !== "number" || !(v > 0)) throw new ModelConfigError(key(k), v, "a positive number", { source });
    return v;
  };

  const experts = metadata.get(key("expert_count"));
  if (experts !== undefined && experts !== 0) throw new ModelConfigError(key("expert_count"), experts, "absent (mixture-of-experts models are not implemented)", { source });

  const hiddenSize = int("embedding_length");
  const numHeads = int("attention.head_count");
  // head_count_kv may be an array (one per layer) in some files; only a single value is supported.
  const numKvHeads = int("attention.head_count_kv", numHeads);
  if (numHeads % numKvHeads !== 0) throw new ModelConfigError(key("attention.head_count_kv"), numKvHeads, `a divisor of ${key("attention.head_count")} (${numHeads})`, { source });
  const headDim = int("attention.key_length", hiddenSize / numHeads);
  const valueLength = metadata.get(key("attention.value_length"));
  if (valueLength !== undefined && valueLength !== headDim) throw new ModelConfigError(key("attention.value_length"), valueLength, `equal to the key length (${headDim})`, { source });
  const ropeDims = metadata.get(key("rope.dimension_count"));
  if (ropeDims !== undefined && ropeDims !== headDim) throw new ModelConfigError(key("rope.dimension_count"), ropeDims, `the head size ${headDim} (partial RoPE is not implemented)`, { source });
  const scalingType = metadata.get(key("rope.scaling.type"));
  if (scalingType !== undefined && scalingType !== "none") {
    throw new ModelConfigError(key("rope.scaling.type"), scalingType, `"none" (only Llama 3.1's rope_freqs scaling is implemented)`, { source });
  }
  const vocabFromTokens = metadata.get("tokenizer.ggml.tokens");
  const vocabSize = int("vocab_size", Array.isArray(vocabFromTokens) ? vocabFromTokens.length : undefined);

  const has = (n: string): boolean => names.has(n);
  const qkvBias = has("blk.0.attn_q.bias");
  const oBias = has("blk.0.attn_output.bias");
  const mlpBias = has("blk.0.ffn_up.bias");
  if (family === "qwen2" && !qkvBias) throw new ModelConfigError("blk.0.attn_q.bias", undefined, "present for qwen2 (Qwen2 has q/k/v biases)", { source });
  if (family === "qwen2" && oBias) throw new ModelConfigError("blk.0.attn_output.bias", "present", "absent for qwen2", { source });
  if (mlpBias && family !== "llama") throw new ModelConfigError("blk.0.ffn_up.bias", "present", `absent for ${family}`, { source });
  if (family === "qwen3" && !has("blk.0.attn_q_norm.weight")) throw new ModelConfigError("blk.0.attn_q_norm.weight", undefined, "present for qwen3", { source });

  const config: ModelConfig = {
    family,
    vocabSize,
    hiddenSize,
    intermediateSize: int("feed_forward_length"),
    numLayers: int("block_count"),
    numHeads,
    numKvHeads,
    headDim,
    maxPositionEmbeddings: int("context_length", 2048),
    rmsNormEps: num("attention.layer_norm_rms_epsilon", 1e-6),
    ropeTheta: num("rope.freq_base", 10000),
    ropeScaling: null,
    qkvBias,
    oBias,
    mlpBias,
    qkNorm: family === "qwen3",
    tieWordEmbeddings: !has("output.weight"),
  };
  const bos = metadata.get("tokenizer.ggml.bos_token_id");
  const eos = metadata.get("tokenizer.ggml.eos_token_id");
  if (typeof bos === "number") config.bosTokenId = bos;
  if (typeof eos === "number") config.eosTokenId = eos;
  return config;
}

/**
 * Llama 3.1 RoPE scaling from the `rope_freqs` factors llama.cpp stores (each frequency is divided
 * by its factor). The file keeps only the factors; the standard llama3 parameters (with the file's
 * `rope.scaling.factor` / `original_context_length` when present) are tried and must reproduce
 * them, else the model is rejected rather than run with wrong positions. Without
 * `rope.scaling.factor` (llama.cpp's converter does not write it) the factor is the largest divisor.
 */
export function llama3ScalingFromFactors(config: ModelConfig, factors: ArrayLike<number>, metadata: ReadonlyMap<string, GgufValue>, source?: string): Llama3RopeScaling {
  const arch = config.family;
  const f = metadata.get(`${arch}.rope.scaling.factor`);
  const orig = metadata.get(`${arch}.rope.scaling.original_context_length`);
  const candidate: Llama3RopeScaling = {
    type: "llama3",
    // Without the key, the largest divisor is the factor (the lowest frequencies are divided by exactly it).
    factor: typeof f === "number" && f > 0 ? f : Math.max(...Array.from(factors)),
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: typeof orig === "number" && orig > 0 ? orig : 8192,
  };
  const base = ropeInverseFrequencies({ ...config, ropeScaling: null });
  const scaled = ropeInverseFrequencies({ ...config, ropeScaling: candidate });
  if (factors.length !== base.length) throw new ModelConfigError("rope_freqs.weight", `${factors.length} values`, `${base.length} values (head_dim / 2)`, { source });
  for (let i = 0; i < base.length; i++) {
    const expect = base[i]! / scaled[i]!;
    if (Math.abs(factors[i]! - expect) > 1e-3 * expect) {
      throw new ModelConfigError("rope_freqs.weight", `factor ${factors[i]} at ${i}`, `Llama 3.1 scaling (factor ${candidate.factor}, low 1, high 4, original ${candidate.originalMaxPositionEmbeddings}) giving ${expect}`, { source });
    }
  }
  return candidate;
}
