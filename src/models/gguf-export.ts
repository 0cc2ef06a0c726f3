/**
 * Exports a `CausalLM` and its tokenizer to a GGUF file that llama.cpp, Ollama and `loadGguf` load
 * (the "out" half of gguf-load.ts): the `<arch>.*` hyper-parameters llama.cpp reads, the tokenizer
 * (gguf-tokenizer-export.ts), and every weight under its llama.cpp name (gguf-keys.ts), with q/k
 * rows permuted for the `llama` architecture as llama.cpp's converter does.
 *
 * Types follow llama.cpp's converter (convert_hf_to_gguf.py --outtype): vectors (norms, biases)
 * stay F32; matrices become F16 / BF16 / Q8_0 (Q8_0 falls back to F16 for a matrix whose rows are
 * not a multiple of 32). A merged LoRA is just a model; an unmerged adapter's extra tensors are an
 * error rather than being dropped.
 * @example exportGguf(model, tokenizer, "smollm2-q8_0.gguf", { type: "q8_0", name: "SmolLM2-135M-Instruct" });
 */
import { writeGguf, type GgufTensorToWrite, type GgufTypedValue, type GgufWriteType } from "../torch/gguf-write.ts";
import { torch } from "../torch/index.ts";
import { ropeInverseFrequencies, type CausalLM } from "./llama.ts";
import type { ModelConfig, ModelFamily } from "./config.ts";
import { ggufNameFor, isRopePermuted, permuteRope } from "./gguf-keys.ts";
import { ggufTokenizerMetadata } from "./gguf-tokenizer-export.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** `--outtype` names, as llama.cpp spells them. */
export const GGUF_EXPORT_TYPES = ["f32", "f16", "bf16", "q8_0"] as const;
export type GgufExportType = (typeof GGUF_EXPORT_TYPES)[number];

/** llama_ftype values llama.cpp stores in `general.file_type`. */
const FILE_TYPES: Record<GgufExportType, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };
const MATRIX_TYPES: Record<GgufExportType, GgufWriteType> = { f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0" };
/** Our families → llama.cpp's architecture (Mistral runs as llama; its sliding window is not stored). */
const ARCHITECTURES: Record<ModelFamily, string> = { llama: "llama", mistral: "llama", qwen2: "qwen2", qwen3: "qwen3" };

export class GgufExportError extends Error {
  override name = "GgufExportError";
}

export interface ExportGgufOptions {
  /** Tensor type of the matrices. @default "f16" */
  type?: GgufExportType;
  /** `general.name`. @default "model" */
  name?: string;
}

export interface ExportGgufResult {
  path: string;
  bytes: number;
  /** ggml type name → number of tensors written as that type. */
  tensorTypes: Record<string, number>;
}

function checkType(type: unknown): GgufExportType {
  if (typeof type !== "string" || !(GGUF_EXPORT_TYPES as readonly string[]).includes(type)) {
    throw new GgufExportError(`type must be one of ${GGUF_EXPORT_TYPES.join(", ")}; got ${JSON.stringify(type)}`);
  }
  return type as GgufExportType;
}

/** The `general.*` and `<arch>.*` metadata llama.cpp needs for `config`. */
export function ggufModelMetadata(config: ModelConfig, options: { type: GgufExportType; name: string }): Array<[string, GgufTypedValue]> {
  const arch = ARCHITECTURES[config.family];
  if (arch === undefined) throw new GgufExportError(`model family '${config.family}' has no GGUF architecture; supported: ${Object.keys(ARCHITECTURES).join(", ")}`);
  const u32 = (value: number): GgufTypedValue => ({ type: "u32", value });
  const f32 = (value: number): GgufTypedValue => ({ type: "f32", value });
  const out: Array<[string, GgufTypedValue]> = [
    ["general.architecture", { type: "string", value: arch }],
    ["general.name", { type: "string", value: options.name }],
    ["general.file_type", u32(FILE_TYPES[options.type])],
  ];
  if (options.type === "q8_0") out.push(["general.quantization_version", u32(2)]);
  out.push(
    [`${arch}.vocab_size`, u32(config.vocabSize)],
    [`${arch}.context_length`, u32(config.maxPositionEmbeddings)],
    [`${arch}.embedding_length`, u32(config.hiddenSize)],
    [`${arch}.block_count`, u32(config.numLayers)],
    [`${arch}.feed_forward_length`, u32(config.intermediateSize)],
    [`${arch}.attention.head_count`, u32(config.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(config.numKvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(config.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(config.ropeTheta)],
    [`${arch}.rope.dimension_count`, u32(config.headDim)],
  );
  // Llama 3.1 scaling is the rope_freqs tensor; the original context length is only for our loader
  // (llama.cpp reads it for YaRN alone). Not rope.scaling.factor: llama.cpp would add linear scaling.
  if (config.ropeScaling) out.push([`${arch}.rope.scaling.original_context_length`, u32(config.ropeScaling.originalMaxPositionEmbeddings)]);
  // llama.cpp assumes head size = embedding / heads unless told (Qwen3 differs).
  if (config.headDim * config.numHeads !== config.hiddenSize) out.push([`${arch}.attention.key_length`, u32(config.headDim)], [`${arch}.attention.value_length`, u32(config.headDim)]);
  return out;
}

/** Type a tensor is stored as: vectors F32, matrices the asked type (Q8_0 needs rows of 32k values). */
function tensorType(shape: number[], type: GgufExportType): GgufWriteType {
  if (shape.length < 2) return "F32";
  const t = MATRIX_TYPES[type];
  return t === "Q8_0" && shape.at(-1)! % 32 !== 0 ? "F16" : t;
}

/** The tensors to write for `model`, in the order llama.cpp's converter writes them. */
export function ggufTensorsOf(model: CausalLM, type: GgufExportType): GgufTensorToWrite[] {
  const config = model.config;
  const out: GgufTensorToWrite[] = [];
  if (config.ropeScaling) {
    // Llama 3.1 scaling travels as per-frequency divisors (the loader recovers the parameters from them).
    const base = ropeInverseFrequencies({ ...config, ropeScaling: null });
    const scaled = ropeInverseFrequencies(config);
    const factors = Float32Array.from(base, (b, i) => b / scaled[i]!);
    out.push({ name: "rope_freqs.weight", shape: [factors.length], type: "F32", data: () => torch.tensor(factors) });
  }
  const unknown: string[] = [];
  for (const [key, t] of model.stateDict()) {
    if (key === "lm_head.weight" && config.tieWordEmbeddings) continue;
    const name = ggufNameFor(key);
    if (name === undefined) {
      unknown.push(key);
      continue;
    }
    const heads = /attn_q\./.test(name) ? config.numHeads : config.numKvHeads;
    const permute = isRopePermuted(config.family, name);
    out.push({
      name,
      shape: t.shape,
      type: tensorType(t.shape, type),
      data: () => torch.tidy(() => (permute ? permuteRope(t.detach().float(), heads) : t.detach().float())),
    });
  }
  if (unknown.length) {
    throw new GgufExportError(
      `no GGUF name for ${unknown.slice(0, 4).join(", ")}${unknown.length > 4 ? ` (+${unknown.length - 4} more)` : ""}: only plain decoder weights are exported (merge LoRA adapters first)`,
    );
  }
  return out;
}

/** Writes `model` + `tokenizer` to `path` as GGUF (atomically). */
export function exportGguf(model: CausalLM, tokenizer: Tokenizer, path: string, options: ExportGgufOptions = {}): ExportGgufResult {
  const type = checkType(options.type ?? "f16");
  const config = model.config;
  if (!(config.family in ARCHITECTURES)) throw new GgufExportError(`model family '${config.family}' has no GGUF architecture; supported: ${Object.keys(ARCHITECTURES).join(", ")}`);
  const metadata = [...ggufModelMetadata(config, { type, name: options.name ?? "model" }), ...ggufTokenizerMetadata(tokenizer, { vocabSize: config.vocabSize })];
  const tensors = ggufTensorsOf(model, type);
  const bytes = torch.noGrad(() => writeGguf(path, { metadata, tensors }));
  const tensorTypes: Record<string, number> = {};
  for (const t of tensors) tensorTypes[t.type] = (tensorTypes[t.type] ?? 0) + 1;
  return { path, bytes, tensorTypes };
}
