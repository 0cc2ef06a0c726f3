/**
 * Hugging Face model directories: `config.json` + `model.safetensors` (or sharded with
 * `model.safetensors.index.json`). Loading picks the dtype; saving writes the same layout so
 * transformers / vLLM load the result. Tensor names are HF's, so no key mapping is needed; the
 * only special case is tied embeddings, where HF omits (or duplicates) `lm_head.weight`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { torch, safetensors, type DType, type Tensor } from "../torch/index.ts";
import { parseHfConfig, toHfConfig, type ModelConfig } from "./config.ts";
import { ModelLoadError } from "./errors.ts";
import { CausalLM } from "./llama.ts";

export interface LoadPretrainedOptions {
  /** Parameter dtype. @default the checkpoint's `torch_dtype`, else float32 */
  dtype?: DType;
  /** @default "cpu" */
  device?: string;
  /** RoPE table length (longest sequence). @default config's max_position_embeddings */
  maxPositions?: number;
}

/** Reads and validates `<dir>/config.json`. */
export function readModelConfig(dir: string): { config: ModelConfig; raw: Record<string, unknown> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelLoadError(dir, "model directory not found");
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new ModelLoadError(dir, "config.json not found (a Hugging Face model directory needs config.json and safetensors weights)");
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelLoadError(path, `config.json is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return { config: parseHfConfig(raw, { source: path }), raw };
}

/**
 * Copies `state` into `model`'s parameters (casting dtype/device), without reallocating them.
 * Tied models accept and ignore `lm_head.weight`. Every parameter must be present.
 */
export function loadHfStateDict(model: CausalLM, state: Map<string, Tensor>, options: { source?: string } = {}): void {
  const source = options.source ?? "state dict";
  const own = model.stateDict();
  const missing = [...own.keys()].filter((k) => !state.has(k));
  const unexpected = [...state.keys()].filter((k) => !own.has(k) && !(k === "lm_head.weight" && model.config.tieWordEmbeddings));
  const mismatched = [...own].filter(([k, t]) => state.has(k) && state.get(k)!.shape.join(",") !== t.shape.join(",")).map(([k, t]) => `${k} [${state.get(k)!.shape}] vs model [${t.shape}]`);
  if (missing.length || unexpected.length || mismatched.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing tensors: ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ""}`);
    if (unexpected.length) parts.push(`unexpected tensors: ${unexpected.slice(0, 8).join(", ")}${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ""}`);
    if (mismatched.length) parts.push(`shape mismatch: ${mismatched.slice(0, 4).join("; ")}`);
    throw new ModelLoadError(source, `weights do not match the ${model.config.family} config (${parts.join(" | ")})`);
  }
  torch.noGrad(() => {
    for (const [k, t] of own) t.copy_(state.get(k)!);
  });
}

/**
 * Loads a local Hugging Face model directory (single or sharded safetensors).
 * @example const model = loadPretrained("/models/Qwen3-0.6B", { dtype: "bfloat16" });
 */
export function loadPretrained(dir: string, options: LoadPretrainedOptions = {}): CausalLM {
  const { config, raw } = readModelConfig(dir);
  const dtype = options.dtype ?? config.dtype ?? "float32";
  let weights: Map<string, Tensor>;
  try {
    weights = safetensors.loadCheckpoint(dir, { dtype, device: options.device });
  } catch (err) {
    throw new ModelLoadError(dir, `cannot read weights: ${(err as Error).message}`, { cause: err });
  }
  let model: CausalLM | undefined;
  try {
    // Build with empty-ish params of the right dtype, then copy the checkpoint in.
    model = torch.noGrad(() => new CausalLM(config, { dtype, device: options.device, maxPositions: options.maxPositions }));
    loadHfStateDict(model, weights, { source: dir });
    modelSources.set(model, raw);
    return model;
  } catch (err) {
    model?.dispose();
    throw err;
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/** The original config.json of loaded models, written back verbatim (with the new dtype) on save. */
const modelSources = new WeakMap<CausalLM, Record<string, unknown>>();

export interface SavePretrainedOptions {
  /** Cast floating-point weights to this dtype in the files. @default the model's dtype */
  dtype?: DType;
  /** Largest shard in bytes; bigger models get numbered shards + an index. @default 5e9 */
  maxShardBytes?: number;
}

/** Writes `config.json` + safetensors in Hugging Face layout; returns the written file names. */
export function savePretrained(model: CausalLM, dir: string, options: SavePretrainedOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const dtype = options.dtype ?? model.dtype;
  const state = model.stateDict();
  const casted = new Map<string, Tensor>();
  try {
    for (const [k, t] of state) casted.set(k, t.dtype === dtype ? t.detach() : t.detach().to(dtype));
    const files = safetensors.saveShardedSafetensors(dir, casted, { maxShardBytes: options.maxShardBytes });
    const original = modelSources.get(model);
    const hf = original ? { ...original, torch_dtype: dtype, ...("dtype" in original ? { dtype } : {}) } : toHfConfig(model.config, { dtype });
    // Written last and atomically: a reader that sees config.json sees complete weights.
    const tmp = join(dir, `.config.json.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(hf, null, 2) + "\n");
    renameSync(tmp, join(dir, "config.json"));
    return ["config.json", ...files];
  } finally {
    for (const t of casted.values()) t.dispose();
  }
}
