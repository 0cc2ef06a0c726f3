/**
 * `forge export --model <dir|hub id|.gguf|checkpoint dir> --out model.gguf [--type q8_0|f16|bf16|f32] [--ollama] ...`
 *
 * Writes a model as a GGUF file that llama.cpp and Ollama load (weights, hyper-parameters,
 * tokenizer and chat template), and with `--ollama` an Ollama `Modelfile` next to it
 * (`ollama create mymodel -f Modelfile`). `--model` takes what the apps take as `model.path`
 * (a Hugging Face directory such as an SFT output or a merged LoRA, a cached hub id, a `.gguf`
 * file), or a trainer checkpoint directory (`<dir>/latest` or `<dir>/step-N`, whose `model/` has
 * no tokenizer: give `--tokenizer`).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../src/util/atomic-write.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { loadGguf, loadPretrained, Tokenizer, type CausalLM } from "../../src/models/index.ts";
import { exportGguf, GGUF_EXPORT_TYPES, type ExportGgufResult, type GgufExportType } from "../../src/models/gguf-export.ts";
import { ollamaModelfile } from "../../src/models/ollama-modelfile.ts";
import { expandHome, findModelDir, isGgufPath, ModelNotFoundError, resolveTokenizer } from "../shared/resolve-model.ts";

export const USAGE = `usage: forge export --model <dir|hub id|file.gguf|checkpoint dir> --out <file.gguf>
                    [--type ${GGUF_EXPORT_TYPES.join("|")}] [--tokenizer <dir|file.gguf>] [--name NAME] [--ollama]`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ExportCliOptions {
  model: string;
  out: string;
  type: GgufExportType;
  tokenizer?: string;
  name?: string;
  ollama: boolean;
}

export function parseExportArgs(argv: string[]): ExportCliOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        model: { type: "string" },
        out: { type: "string" },
        type: { type: "string" },
        tokenizer: { type: "string" },
        name: { type: "string" },
        ollama: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!v.model) throw new UsageError("--model is required (a model directory, hub id, .gguf file or checkpoint directory)");
  if (!v.out) throw new UsageError("--out is required (the .gguf file to write)");
  if (!/\.gguf$/i.test(v.out)) throw new UsageError(`--out must name a .gguf file; got '${v.out}'`);
  const type = (v.type ?? "f16").toLowerCase();
  if (!(GGUF_EXPORT_TYPES as readonly string[]).includes(type))
    throw new UsageError(`--type must be one of ${GGUF_EXPORT_TYPES.join(", ")}; got '${v.type}'`);
  return { model: v.model, out: v.out, type: type as GgufExportType, tokenizer: v.tokenizer, name: v.name, ollama: v.ollama ?? false };
}

/** A trainer checkpoint directory (`latest` → `step-N/model`, or `step-N/model`) as its model directory; else undefined. */
export function checkpointModelDir(path: string): string | undefined {
  const dir = resolve(expandHome(path));
  const latest = join(dir, "latest");
  if (existsSync(latest)) {
    const step = join(dir, readFileSync(latest, "utf8").trim(), "model");
    if (existsSync(join(step, "config.json"))) return step;
  }
  if (existsSync(join(dir, "model", "config.json"))) return join(dir, "model");
  return undefined;
}

interface Source {
  model: CausalLM;
  tokenizer: Tokenizer;
  source: string;
}

/** Loads the model in float32 (exporting rounds once, from full precision) with its tokenizer. */
export function loadForExport(opts: Pick<ExportCliOptions, "model" | "tokenizer">): Source {
  if (isGgufPath(opts.model)) {
    const file = resolve(expandHome(opts.model));
    if (!existsSync(file)) throw new ModelNotFoundError(opts.model, [file]);
    const { model, tokenizer } = loadGguf(file);
    return { model, tokenizer: opts.tokenizer ? resolveTokenizer(opts.tokenizer) : tokenizer, source: file };
  }
  const dir = checkpointModelDir(opts.model) ?? findModelDir(opts.model);
  let tokenizer: Tokenizer;
  if (opts.tokenizer) tokenizer = resolveTokenizer(opts.tokenizer);
  else if (existsSync(join(dir, "tokenizer.json"))) tokenizer = Tokenizer.fromPretrained(dir);
  else throw new UsageError(`${dir} has no tokenizer.json (a trainer checkpoint keeps only weights): pass --tokenizer <dir|file.gguf>`);
  return { model: loadPretrained(dir, { dtype: "float32" }), tokenizer, source: dir };
}

export interface ExportRunResult extends ExportGgufResult {
  seconds: number;
  modelfile?: string;
}

export function runExport(opts: ExportCliOptions): ExportRunResult {
  const out = resolve(expandHome(opts.out));
  const { model, tokenizer, source } = loadForExport(opts);
  try {
    const name = opts.name ?? basename(source).replace(/\.gguf$/i, "");
    const t0 = performance.now();
    const result = exportGguf(model, tokenizer, out, { type: opts.type, name });
    const seconds = (performance.now() - t0) / 1000;
    let modelfile: string | undefined;
    if (opts.ollama) {
      modelfile = join(dirname(out), "Modelfile");
      writeFileAtomic(modelfile, ollamaModelfile({ from: `./${relative(dirname(modelfile), out)}`, tokenizer }));
    }
    return { ...result, seconds, modelfile };
  } finally {
    model.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let opts: ExportCliOptions;
  try {
    opts = parseExportArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`forge export: ${err.message}\n${USAGE}`);
    return 2;
  }
  try {
    const r = runExport(opts);
    const types = Object.entries(r.tensorTypes)
      .map(([t, n]) => `${n} ${t}`)
      .join(", ");
    console.log(`wrote ${r.path} (${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${types}) in ${r.seconds.toFixed(1)} s`);
    if (r.modelfile) console.log(`wrote ${r.modelfile}: ollama create <name> -f ${r.modelfile}`);
    return 0;
  } catch (err) {
    console.error(`forge export: ${(err as Error).message}`);
    return 1;
  }
}

runIfMain(import.meta.url, main);
