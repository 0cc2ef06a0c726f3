/**
 * LoRA adapters on disk in PEFT's layout, so `PeftModel.from_pretrained(base, dir)` loads them:
 *
 *     <dir>/adapter_config.json        peft_type LORA, r, lora_alpha, lora_dropout, target_modules, ...
 *     <dir>/adapter_model.safetensors  base_model.model.<module>.lora_A.weight / .lora_B.weight
 *
 * and the adapted model merged into plain weights as a normal Hugging Face model directory.
 * Files are written atomically, weights before the config (a reader that sees the config sees
 * complete weights). Loading refuses PEFT options this implementation does not apply (DoRA, bias
 * training, per-layer rank/alpha patterns, ...) rather than silently computing something else.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { torch, safetensors, type Tensor } from "../torch/index.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { LoraConfigError, ModelLoadError } from "./errors.ts";
import { savePretrained, type SavePretrainedOptions } from "./checkpoint.ts";
import { LoraAdapters, resolveLoraConfig, type ApplyLoraOptions, type ResolvedLoraConfig } from "./lora.ts";
import type { CausalLM } from "./llama.ts";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

export interface SaveLoraAdapterOptions {
  /** `base_model_name_or_path` in adapter_config.json (where PEFT finds the base). @default null */
  baseModelNameOrPath?: string | null;
}

/** adapter_config.json for `config`: the fields PEFT 0.21's `LoraConfig` reads, others at PEFT's defaults. */
export function peftAdapterConfig(config: ResolvedLoraConfig, options: SaveLoraAdapterOptions = {}): Record<string, unknown> {
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    revision: null,
    inference_mode: true,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: config.targetModules,
    use_rslora: config.useRslora,
    bias: "none",
    fan_in_fan_out: false,
    init_lora_weights: true,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
}

/** Writes `adapters` as a PEFT adapter directory; returns the written file names. */
export function saveLoraAdapter(adapters: LoraAdapters, dir: string, options: SaveLoraAdapterOptions = {}): string[] {
  const detached = new Map<string, Tensor>();
  try {
    for (const [k, t] of adapters.stateDict()) detached.set(k, t.detach());
    safetensors.saveSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), detached, { metadata: { format: "pt" } });
  } finally {
    for (const t of detached.values()) t.dispose();
  }
  writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(peftAdapterConfig(adapters.config, options), null, 2) + "\n");
  return [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE];
}

/** Values PEFT accepts that change the computation, which we refuse (field → allowed values). */
const UNSUPPORTED: [field: string, ok: (v: unknown) => boolean, expected: string][] = [
  ["peft_type", (v) => v === "LORA", '"LORA"'],
  ["bias", (v) => v === undefined || v === "none", '"none" (bias training is not supported)'],
  ["use_dora", (v) => !v, "false (DoRA is not supported)"],
  ["fan_in_fan_out", (v) => !v, "false (Conv1D-style weights are not supported)"],
  ["lora_bias", (v) => !v, "false"],
  ["modules_to_save", (v) => v == null || (Array.isArray(v) && v.length === 0), "null (fully trained extra modules are not supported)"],
  ["rank_pattern", (v) => v == null || Object.keys(v as object).length === 0, "empty (per-layer ranks are not supported)"],
  ["alpha_pattern", (v) => v == null || Object.keys(v as object).length === 0, "empty (per-layer alphas are not supported)"],
  ["layers_to_transform", (v) => v == null, "null (layer selection is not supported; use a target_modules regex)"],
  ["exclude_modules", (v) => v == null || (Array.isArray(v) && v.length === 0), "null (use a target_modules regex)"],
  ["layer_replication", (v) => v == null, "null"],
  ["target_parameters", (v) => v == null || (Array.isArray(v) && v.length === 0), "null"],
];

/** Reads and checks `<dir>/adapter_config.json` into a `LoraConfig` plus the base model it names. */
export function readLoraAdapterConfig(dir: string): { config: ResolvedLoraConfig; baseModelNameOrPath: string | null } {
  const path = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(path)) throw new ModelLoadError(dir, `${ADAPTER_CONFIG_FILE} not found (a PEFT adapter directory needs ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE})`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelLoadError(path, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  for (const [field, ok, expected] of UNSUPPORTED) if (!ok(raw[field])) throw new LoraConfigError(field, raw[field], expected, { source: path });
  const config = resolveLoraConfig(
    {
      r: raw.r as number,
      alpha: raw.lora_alpha as number,
      dropout: (raw.lora_dropout as number | undefined) ?? 0,
      targetModules: raw.target_modules as string[] | string,
      useRslora: (raw.use_rslora as boolean | undefined) ?? false,
    },
    { source: path },
  );
  return { config, baseModelNameOrPath: typeof raw.base_model_name_or_path === "string" ? raw.base_model_name_or_path : null };
}

/**
 * Attaches the adapter saved in `dir` (by PEFT or `saveLoraAdapter`) to `model` and freezes the
 * model. Every adapted layer's A and B must be in the file, with the config's rank.
 */
export function loadLoraAdapter(model: CausalLM, dir: string, options: ApplyLoraOptions = {}): LoraAdapters {
  const { config } = readLoraAdapterConfig(dir);
  const file = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(file)) throw new ModelLoadError(dir, `${ADAPTER_WEIGHTS_FILE} not found`);
  const adapters = new LoraAdapters(model, config, options);
  let weights: Map<string, Tensor> | undefined;
  try {
    weights = safetensors.loadSafetensors(file);
    // Files from older PEFT versions keep the adapter name in the key.
    const state = new Map([...weights].map(([k, t]) => [k.replace(/\.(lora_[AB])\.default\.weight$/, ".$1.weight"), t]));
    torch.tidy(() => adapters.loadStateDict(state));
    return adapters;
  } catch (err) {
    adapters.dispose();
    throw err instanceof LoraConfigError || err instanceof ModelLoadError ? err : new ModelLoadError(file, `adapter weights do not match: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const t of weights?.values() ?? []) t.dispose();
  }
}

/**
 * Writes the adapted model with the adapters merged into its weights, as a normal Hugging Face
 * model directory (`savePretrained`); the live model is restored exactly afterwards.
 */
export function saveMergedPretrained(adapters: LoraAdapters, dir: string, options: SavePretrainedOptions = {}): string[] {
  return adapters.withMerged(() => savePretrained(adapters.model, dir, options));
}
