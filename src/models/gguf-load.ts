/**
 * Loads a GGUF model file (llama.cpp / Ollama format) as a `CausalLM` plus its tokenizer: the
 * config from the metadata (gguf-config.ts), the tokenizer from the `tokenizer.*` keys
 * (gguf-tokenizer.ts), and every weight dequantised natively to float32 one tensor at a time,
 * renamed to its Hugging Face key and un-permuted where llama.cpp permuted it (gguf-keys.ts),
 * then cast into the model's parameters. Quantisation is not kept: the model trains in the dtype
 * asked for, as one loaded from safetensors would.
 * @example const { model, tokenizer } = loadGguf("~/.cache/torchforge/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
 */
import { torch } from "../torch/index.ts";
import { GgufFile } from "../torch/gguf.ts";
import type { DType, Device } from "../torch/index.ts";
import type { ModelConfig } from "./config.ts";
import { ModelLoadError } from "./errors.ts";
import { ggufModelConfig, llama3ScalingFromFactors } from "./gguf-config.ts";
import { GGUF_DERIVED_TENSORS, hfKeyFor, isRopePermuted, unpermuteRope } from "./gguf-keys.ts";
import { ggufTokenizer } from "./gguf-tokenizer.ts";
import { CausalLM } from "./llama.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface LoadGgufOptions {
  /** Parameter dtype. @default "float32" */
  dtype?: DType;
  /** @default "cpu" */
  device?: Device;
  /** RoPE table length (longest sequence). @default the file's context_length */
  maxPositions?: number;
}

export interface LoadedGguf {
  model: CausalLM;
  tokenizer: Tokenizer;
  config: ModelConfig;
  /** ggml type name → number of tensors of that type in the file (e.g. { Q4_1: 210, F32: 61 }). */
  tensorTypes: Record<string, number>;
}

/** Reads only the config and tokenizer of a GGUF file (no weights). */
export function readGgufConfig(path: string): { config: ModelConfig; tokenizer: Tokenizer } {
  const file = GgufFile.open(path);
  try {
    return { config: configOf(file), tokenizer: ggufTokenizer(file.metadata, { path }) };
  } finally {
    file.close();
  }
}

function configOf(file: GgufFile): ModelConfig {
  const config = ggufModelConfig({ metadata: file.metadata, tensorNames: [...file.tensors.keys()], path: file.path });
  if (file.tensors.has("rope_freqs.weight")) {
    const factors = torch.tidy(() => file.loadTensor("rope_freqs.weight").toArray() as number[]);
    config.ropeScaling = llama3ScalingFromFactors(config, factors, file.metadata, file.path);
  }
  return config;
}

/** Loads a `.gguf` file: model weights (dequantised) and the tokenizer from its metadata. */
export function loadGguf(path: string, options: LoadGgufOptions = {}): LoadedGguf {
  const file = GgufFile.open(path);
  let model: CausalLM | undefined;
  try {
    const config = configOf(file);
    const tokenizer = ggufTokenizer(file.metadata, { path });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ModelLoadError(path, `the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
    }
    const dtype = options.dtype ?? "float32";
    model = torch.noGrad(() => new CausalLM(config, { dtype, device: options.device, maxPositions: options.maxPositions }));
    const own = model.stateDict();
    const filled = new Set<string>();
    const tensorTypes: Record<string, number> = {};
    for (const info of file.tensors.values()) {
      tensorTypes[info.typeName] = (tensorTypes[info.typeName] ?? 0) + 1;
      if (GGUF_DERIVED_TENSORS.has(info.name)) continue;
      const key = hfKeyFor(info.name);
      if (key === undefined || (!own.has(key) && !(key === "lm_head.weight" && config.tieWordEmbeddings))) {
        throw new ModelLoadError(path, `unexpected tensor '${info.name}'${key ? ` (${key})` : ""} for a ${config.family} model`);
      }
      const target = own.get(key)!;
      if (info.shape.join(",") !== target.shape.join(",")) {
        throw new ModelLoadError(path, `tensor '${info.name}' has shape [${info.shape}] but ${key} needs [${target.shape}]`);
      }
      torch.tidy(() =>
        torch.noGrad(() => {
          let t = file.loadTensor(info.name);
          if (isRopePermuted(config.family, info.name)) t = unpermuteRope(t, /attn_q\./.test(info.name) ? config.numHeads : config.numKvHeads);
          target.copy_(t);
        }),
      );
      filled.add(key);
    }
    const missing = [...own.keys()].filter((k) => !filled.has(k));
    if (missing.length) throw new ModelLoadError(path, `missing tensors for ${missing.slice(0, 6).join(", ")}${missing.length > 6 ? ` (+${missing.length - 6} more)` : ""}`);
    // The float32 copies of each tensor were transient: give their cached blocks back (~200 MB for 135M).
    torch.emptyCache();
    return { model, tokenizer, config, tensorTypes };
  } catch (err) {
    model?.dispose();
    throw err;
  } finally {
    file.close();
  }
}
