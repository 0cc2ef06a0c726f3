/**
 * Turns a config's `model` section into a model and its tokenizer: a local Hugging Face
 * directory, a hub id found in the local Hugging Face cache, a `.gguf` file (llama.cpp / Ollama
 * format: weights dequantised, tokenizer and chat template from its metadata), or a built-in
 * preset (tiny seeded models on the character-level tokenizer, for the default task and tests).
 * Nothing is downloaded: a missing model is an error that says where we looked and how to get it.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { DType } from "../../src/torch/index.ts";
import {
  CausalLM,
  Tokenizer,
  debugConfig,
  loadGguf,
  loadPretrained,
  readGgufConfig,
  randomModel,
  type ModelConfig,
  type ModelFamily,
} from "../../src/models/index.ts";
import { packagePath, resolveShipped } from "../../src/util/package-root.ts";

export const TINY_TOKENIZER_DIR = packagePath("assets", "tiny-tokenizer");

function howToGet(spec: string): string {
  if (/smollm2.*\.gguf$/i.test(spec)) return "Fetch it first: `bash scripts/fetch-smollm2.sh` (prints the file's path)";
  if (/\.gguf$/i.test(spec)) return "Pass the path of an existing .gguf file as model.path";
  const download = `Download it first, e.g. \`huggingface-cli download ${spec}\` (fills the Hugging Face cache)`;
  return `${download} or pass a local directory as model.path`;
}

export class ModelNotFoundError extends Error {
  override name = "ModelNotFoundError";
  constructor(
    readonly spec: string,
    readonly lookedAt: string[],
  ) {
    super(`model '${spec}' not found; looked at: ${lookedAt.join(", ")}. ${howToGet(spec)}`);
  }
}

/** A directory was named, but it is not a Hugging Face model directory. */
export class ModelDirectoryError extends Error {
  override name = "ModelDirectoryError";
  constructor(
    readonly spec: string,
    readonly dir: string,
  ) {
    super(`model '${spec}': ${dir} exists but has no config.json (a Hugging Face model directory holds config.json and *.safetensors)`);
  }
}

export interface ModelSpec {
  path?: string;
  preset?: string;
  tokenizerPath?: string;
  dtype: DType;
  seed: number;
  /** Where the parameters go once loaded ("cuda:0" for services with `with_gpus: true`). @default "cpu" */
  device?: string;
}

/** Sizes of the built-in presets (`tiny`, `tiny-<family>`): small enough to train on 2 CPU cores. */
export function presetConfig(preset: string, vocabSize: number): ModelConfig {
  const m = /^tiny(?:-(llama|qwen2|qwen3|mistral))?$/.exec(preset);
  if (!m) throw new TypeError(`model.preset must be 'tiny' or 'tiny-<llama|qwen2|qwen3|mistral>'; got '${preset}'`);
  const family = (m[1] ?? "qwen3") as ModelFamily;
  return debugConfig(family, {
    vocabSize,
    hiddenSize: 128,
    intermediateSize: 384,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 32,
    maxPositionEmbeddings: 256,
    tieWordEmbeddings: true,
  });
}

/** `~/x` → `<home>/x` (YAML configs are not shell-expanded). */
export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** Whether `path` names a GGUF file (by extension); it must exist to be loaded. */
export function isGgufPath(path: string): boolean {
  return /\.gguf$/i.test(path);
}

/**
 * A local directory for `path`: as given (relative to the working directory, else a directory the
 * package ships, e.g. `assets/default-model`), or a hub id's latest snapshot in the HF cache.
 */
export function findModelDir(path: string): string {
  const local = resolve(expandHome(path));
  if (existsSync(join(local, "config.json"))) return local;
  // An existing directory is what the user meant: say what is missing, not "not found".
  if (existsSync(local) && statSync(local).isDirectory()) throw new ModelDirectoryError(path, local);
  const looked = [local];
  const shipped = resolveShipped(path);
  if (shipped !== local) {
    if (existsSync(join(shipped, "config.json"))) return shipped;
    looked.push(shipped);
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(path)) {
    const hub = join(
      process.env.HF_HUB_CACHE ?? join(process.env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "hub"),
      `models--${path.replace("/", "--")}`,
      "snapshots",
    );
    looked.push(hub);
    if (existsSync(hub)) {
      const snapshots = readdirSync(hub)
        .map((s) => join(hub, s))
        .filter((s) => existsSync(join(s, "config.json")));
      snapshots.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      if (snapshots[0]) return snapshots[0];
    }
  }
  throw new ModelNotFoundError(path, looked);
}

/** A tokenizer directory (`tokenizer.json` inside; no model config needed), or a model directory / hub id. */
export function findTokenizerDir(path: string): string {
  for (const dir of [resolve(expandHome(path)), resolveShipped(path)]) if (existsSync(join(dir, "tokenizer.json"))) return dir;
  return findModelDir(path);
}

/** A tokenizer from a tokenizer/model directory, a hub id, or a `.gguf` file's metadata. */
export function resolveTokenizer(path: string): Tokenizer {
  if (isGgufPath(path)) {
    const file = resolve(expandHome(path));
    if (!existsSync(file)) throw new ModelNotFoundError(path, [file]);
    return readGgufConfig(file).tokenizer;
  }
  return Tokenizer.fromPretrained(findTokenizerDir(path));
}

export interface ResolvedModel {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** Directory the weights came from, or `preset:<name>`. */
  source: string;
}

export function resolveModel(spec: ModelSpec): ResolvedModel {
  const resolved = resolveOnHost(spec);
  // Loaded (and dequantised) on the host, then moved once: checkpoints are read into CPU memory anyway.
  if (spec.device && spec.device !== "cpu") resolved.model.to({ device: spec.device });
  return resolved;
}

function resolveOnHost(spec: ModelSpec): ResolvedModel {
  if (spec.path && isGgufPath(spec.path)) {
    const file = resolve(expandHome(spec.path));
    if (!existsSync(file) || !statSync(file).isFile()) throw new ModelNotFoundError(spec.path, [file]);
    const { model, tokenizer } = loadGguf(file, { dtype: spec.dtype });
    return { model, tokenizer: spec.tokenizerPath ? resolveTokenizer(spec.tokenizerPath) : tokenizer, source: file };
  }
  if (spec.path) {
    const dir = findModelDir(spec.path);
    const tokenizer = spec.tokenizerPath ? resolveTokenizer(spec.tokenizerPath) : Tokenizer.fromPretrained(dir);
    return { model: loadPretrained(dir, { dtype: spec.dtype }), tokenizer, source: dir };
  }
  if (spec.preset) {
    const tokenizer =
      spec.tokenizerPath !== undefined ? resolveTokenizer(spec.tokenizerPath) : Tokenizer.fromPretrained(TINY_TOKENIZER_DIR);
    const model = randomModel(presetConfig(spec.preset, tokenizer.vocabSize), { seed: spec.seed, dtype: spec.dtype });
    return { model, tokenizer, source: `preset:${spec.preset}` };
  }
  throw new TypeError("config 'model' needs 'path' (a model directory, hub id or .gguf file) or 'preset' (e.g. 'tiny')");
}
