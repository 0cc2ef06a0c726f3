/**
 * The decoder's configuration, and its translation from/to a Hugging Face `config.json`.
 *
 * Every field that changes the math is read; a value the decoder cannot honour (another
 * architecture, an activation other than SiLU, a rope scaling type other than llama3, an active
 * sliding window...) is a `ModelConfigError` naming the field — never silently ignored. Fields
 * that do not change the forward pass (dropout at inference, `use_cache`, `initializer_range`)
 * are ignored. Both the transformers 4.x spelling (`rope_theta`, `rope_scaling`) and the 5.x one
 * (`rope_parameters`) are accepted.
 */
import type { DType } from "../torch/index.ts";
import { ModelConfigError } from "./errors.ts";

/** The HF families this decoder implements. */
export type ModelFamily = "llama" | "qwen2" | "qwen3" | "mistral";

export const ARCHITECTURES: Record<string, ModelFamily> = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  MistralForCausalLM: "mistral",
};

/** Llama 3.1-style frequency-dependent RoPE scaling. */
export interface Llama3RopeScaling {
  type: "llama3";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
  family: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Longest sequence (positions) the model handles; for Mistral also capped by its sliding window. */
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /** Bias on q/k/v projections (Qwen2 always; Llama/Qwen3 `attention_bias`). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama `attention_bias`; never for Qwen2). */
  oBias: boolean;
  /** Bias on the MLP projections (Llama `mlp_bias`). */
  mlpBias: boolean;
  /** RMSNorm on each head of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  tieWordEmbeddings: boolean;
  /** `torch_dtype`/`dtype` of the checkpoint, when stated. */
  dtype?: DType;
  bosTokenId?: number;
  eosTokenId?: number | number[];
}

type Json = Record<string, unknown>;

const HF_DTYPES: Record<string, DType> = { float32: "float32", bfloat16: "bfloat16", float16: "float16" };

function positiveInt(json: Json, field: string, source?: string, fallback?: number): number {
  const v = json[field] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new ModelConfigError(field, json[field], "a positive integer", { source });
  return v;
}
function positiveNumber(json: Json, field: string, fallback: number, source?: string): number {
  const v = json[field] ?? fallback;
  if (typeof v !== "number" || !(v > 0)) throw new ModelConfigError(field, json[field], "a positive number", { source });
  return v;
}
function bool(json: Json, field: string, fallback: boolean, source?: string): boolean {
  const v = json[field] ?? fallback;
  if (typeof v !== "boolean") throw new ModelConfigError(field, json[field], "true or false", { source });
  return v;
}

function parseRope(json: Json, source?: string): { theta: number; scaling: Llama3RopeScaling | null } {
  // transformers 5 nests both under rope_parameters; 4.x has rope_theta + rope_scaling.
  const params = json.rope_parameters as Json | null | undefined;
  const scaling = (params ?? json.rope_scaling) as Json | null | undefined;
  const prefix = params ? "rope_parameters" : "rope_scaling";
  const theta = params && params.rope_theta !== undefined ? positiveNumber(params, "rope_theta", 10000, source) : positiveNumber(json, "rope_theta", 10000, source);
  if (scaling === null || scaling === undefined) return { theta, scaling: null };
  if (typeof scaling !== "object") throw new ModelConfigError(prefix, scaling, "an object or null", { source });
  const type = scaling.rope_type ?? scaling.type ?? "default";
  if (type === "default") return { theta, scaling: null };
  if (type !== "llama3") throw new ModelConfigError(`${prefix}.rope_type`, type, `"default" or "llama3" (other RoPE scalings are not implemented)`, { source });
  const num = (f: string): number => {
    const v = scaling[f];
    if (typeof v !== "number" || !(v > 0)) throw new ModelConfigError(`${prefix}.${f}`, v, "a positive number for llama3 rope scaling", { source });
    return v;
  };
  return {
    theta,
    scaling: {
      type: "llama3",
      factor: num("factor"),
      lowFreqFactor: num("low_freq_factor"),
      highFreqFactor: num("high_freq_factor"),
      originalMaxPositionEmbeddings: num("original_max_position_embeddings"),
    },
  };
}

/**
 * Reads a Hugging Face `config.json` object.
 * @param options.source file path used in error messages
 */
export function parseHfConfig(json: Json, options: { source?: string } = {}): ModelConfig {
  const source = options.source;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ModelConfigError("(root)", json, "a JSON object", { source });
  const archs = json.architectures;
  let family: ModelFamily | undefined;
  if (Array.isArray(archs) && archs.length > 0) {
    if (archs.length !== 1 || typeof archs[0] !== "string" || !(archs[0] in ARCHITECTURES)) {
      throw new ModelConfigError("architectures", archs, `one of ${Object.keys(ARCHITECTURES).join(", ")}`, { source });
    }
    family = ARCHITECTURES[archs[0]];
  } else {
    const mt = json.model_type;
    if (typeof mt !== "string" || !Object.values(ARCHITECTURES).includes(mt as ModelFamily)) {
      throw new ModelConfigError("model_type", mt, `one of ${Object.values(ARCHITECTURES).join(", ")} (or an 'architectures' list)`, { source });
    }
    family = mt as ModelFamily;
  }
  const act = json.hidden_act ?? "silu";
  if (act !== "silu") throw new ModelConfigError("hidden_act", act, `"silu" (SwiGLU MLP)`, { source });

  const hiddenSize = positiveInt(json, "hidden_size", source);
  const numHeads = positiveInt(json, "num_attention_heads", source);
  const numKvHeads = positiveInt(json, "num_key_value_heads", source, numHeads);
  if (numHeads % numKvHeads !== 0) throw new ModelConfigError("num_key_value_heads", numKvHeads, `a divisor of num_attention_heads (${numHeads})`, { source });
  const headDim = json.head_dim === null || json.head_dim === undefined ? hiddenSize / numHeads : positiveInt(json, "head_dim", source);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ModelConfigError("head_dim", headDim, "an even integer (hidden_size / num_attention_heads when absent)", { source });
  let maxPositionEmbeddings = positiveInt(json, "max_position_embeddings", source, 2048);

  // Sliding windows: Qwen switches them on with use_sliding_window; Mistral uses sliding_window
  // when set. Within the window full attention is exact, so Mistral's window caps the context.
  if ((family === "qwen2" || family === "qwen3") && json.use_sliding_window === true) {
    throw new ModelConfigError("use_sliding_window", true, "false (sliding-window attention is not implemented)", { source });
  }
  if (Array.isArray(json.layer_types) && json.layer_types.some((t) => t !== "full_attention")) {
    throw new ModelConfigError("layer_types", json.layer_types, `only "full_attention" layers`, { source });
  }
  if (family === "mistral" || family === "llama") {
    const sw = json.sliding_window;
    if (sw !== null && sw !== undefined) {
      if (family === "llama") throw new ModelConfigError("sliding_window", sw, "null for Llama", { source });
      if (typeof sw !== "number" || !Number.isInteger(sw) || sw < 1) throw new ModelConfigError("sliding_window", sw, "a positive integer or null", { source });
      maxPositionEmbeddings = Math.min(maxPositionEmbeddings, sw);
    }
  }
  const tp = json.pretraining_tp;
  if (tp !== undefined && tp !== null && tp !== 1) throw new ModelConfigError("pretraining_tp", tp, "1", { source });

  const { theta, scaling } = parseRope(json, source);
  const attentionBias = bool(json, "attention_bias", false, source);
  const mlpBias = bool(json, "mlp_bias", false, source);
  if (mlpBias && family !== "llama") throw new ModelConfigError("mlp_bias", true, `false for ${family}`, { source });
  const dtypeName = json.torch_dtype ?? json.dtype;
  const eos = json.eos_token_id;
  const config: ModelConfig = {
    family,
    vocabSize: positiveInt(json, "vocab_size", source),
    hiddenSize,
    intermediateSize: positiveInt(json, "intermediate_size", source),
    numLayers: positiveInt(json, "num_hidden_layers", source),
    numHeads,
    numKvHeads,
    headDim,
    maxPositionEmbeddings,
    rmsNormEps: positiveNumber(json, "rms_norm_eps", 1e-6, source),
    ropeTheta: theta,
    ropeScaling: scaling,
    qkvBias: family === "qwen2" ? true : attentionBias,
    oBias: family === "qwen2" ? false : attentionBias,
    mlpBias,
    qkNorm: family === "qwen3",
    tieWordEmbeddings: bool(json, "tie_word_embeddings", false, source),
  };
  // Optional fields are left out rather than set to undefined (configs compare with deepEqual).
  if (typeof dtypeName === "string" && HF_DTYPES[dtypeName]) config.dtype = HF_DTYPES[dtypeName];
  if (typeof json.bos_token_id === "number") config.bosTokenId = json.bos_token_id;
  if (typeof eos === "number" || (Array.isArray(eos) && eos.every((x) => typeof x === "number"))) config.eosTokenId = eos as number | number[];
  return config;
}

const ARCH_OF: Record<ModelFamily, string> = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM", mistral: "MistralForCausalLM" };

/** A transformers-loadable `config.json` object for `config` (4.x spelling, which 5.x also reads). */
export function toHfConfig(config: ModelConfig, options: { dtype?: DType } = {}): Json {
  const out: Json = {
    architectures: [ARCH_OF[config.family]],
    model_type: config.family,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_act: "silu",
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: config.ropeScaling
      ? {
          rope_type: "llama3",
          factor: config.ropeScaling.factor,
          low_freq_factor: config.ropeScaling.lowFreqFactor,
          high_freq_factor: config.ropeScaling.highFreqFactor,
          original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings,
        }
      : null,
    tie_word_embeddings: config.tieWordEmbeddings,
    torch_dtype: options.dtype ?? config.dtype ?? "float32",
  };
  if (config.family === "llama") {
    out.attention_bias = config.qkvBias;
    out.mlp_bias = config.mlpBias;
  }
  if (config.family === "qwen3") out.attention_bias = config.qkvBias;
  if (config.family === "qwen2" || config.family === "qwen3") out.use_sliding_window = false;
  if (config.family === "mistral") out.sliding_window = null;
  if (config.bosTokenId !== undefined) out.bos_token_id = config.bosTokenId;
  if (config.eosTokenId !== undefined) out.eos_token_id = config.eosTokenId;
  return out;
}
