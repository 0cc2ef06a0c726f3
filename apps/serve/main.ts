/**
 * `forge serve --model DIR [--port N] [--host H] [--max-concurrency N] [--dtype bfloat16] ...`
 *
 * Serves a model over the OpenAI-compatible API (`/v1/chat/completions`, `/v1/completions`,
 * `/v1/models`) until SIGINT/SIGTERM, then stops accepting, finishes in-flight requests and exits.
 * `--model` takes anything the apps accept as `model.path` (a local Hugging Face directory or a
 * hub id in the local cache); `--preset tiny` serves the built-in tiny model instead.
 */
import { parseArgs } from "node:util";
import type { DType } from "../../src/torch/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { createServer, EngineBackend, type RunningServer } from "../../src/serve/index.ts";
import { resolveModel } from "../shared/resolve-model.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";

export const USAGE = `usage: forge serve (--model DIR | --preset tiny) [--port N] [--host H] [--max-concurrency N] [--max-queue N]
                   [--dtype float32|bfloat16|float16] [--max-seq-len N] [--max-batch-size N] [--tokenizer DIR]
                   [--served-model-name NAME] [--request-timeout-ms N] [--no-thinking] [--seed N]`;

const FLOAT_DTYPES: readonly DType[] = ["float32", "bfloat16", "float16", "float64"];

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ServeCliOptions {
  model?: string;
  preset?: string;
  tokenizer?: string;
  host: string;
  port: number;
  maxConcurrency: number;
  maxQueue: number;
  dtype: DType;
  maxSeqLen?: number;
  maxBatchSize: number;
  servedModelName?: string;
  requestTimeoutMs: number;
  enableThinking?: boolean;
  seed: number;
}

function intArg(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}; got '${value}'`);
  return n;
}

export function parseServeArgs(argv: string[]): ServeCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        model: { type: "string" },
        preset: { type: "string" },
        tokenizer: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "max-concurrency": { type: "string" },
        "max-queue": { type: "string" },
        dtype: { type: "string" },
        "max-seq-len": { type: "string" },
        "max-batch-size": { type: "string" },
        "served-model-name": { type: "string" },
        "request-timeout-ms": { type: "string" },
        "no-thinking": { type: "boolean" },
        seed: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (!v.model === !v.preset)
    throw new UsageError("give exactly one of --model DIR (a Hugging Face model directory or cached hub id) or --preset tiny");
  const dtype = (v.dtype ?? "float32") as DType;
  if (!FLOAT_DTYPES.includes(dtype)) throw new UsageError(`--dtype must be one of ${FLOAT_DTYPES.join(", ")}; got '${v.dtype}'`);
  const opts: ServeCliOptions = {
    host: v.host ?? "127.0.0.1",
    port: intArg(v.port, "port", 8000, 0),
    maxConcurrency: intArg(v["max-concurrency"], "max-concurrency", 64),
    maxQueue: intArg(v["max-queue"], "max-queue", 256, 0),
    dtype,
    maxBatchSize: intArg(v["max-batch-size"], "max-batch-size", 32),
    requestTimeoutMs: intArg(v["request-timeout-ms"], "request-timeout-ms", 0, 0),
    seed: intArg(v.seed, "seed", 0, 0),
  };
  if (v.model) opts.model = v.model;
  if (v.preset) opts.preset = v.preset;
  if (v.tokenizer) opts.tokenizer = v.tokenizer;
  if (v["max-seq-len"] !== undefined) opts.maxSeqLen = intArg(v["max-seq-len"], "max-seq-len", 0);
  if (v["served-model-name"]) opts.servedModelName = v["served-model-name"];
  if (v["no-thinking"]) opts.enableThinking = false;
  return opts;
}

/** Loads the model and serves it until `signal` aborts; `onListening` gets the running server. */
export async function serveModel(
  opts: ServeCliOptions,
  { signal, onListening }: { signal: AbortSignal; onListening?: (server: RunningServer) => void },
): Promise<void> {
  const { model, tokenizer, source } = resolveModel({
    path: opts.model,
    preset: opts.preset,
    tokenizerPath: opts.tokenizer,
    dtype: opts.dtype,
    seed: opts.seed,
  });
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: opts.maxBatchSize, maxSeqLen: opts.maxSeqLen });
  const modelName = opts.servedModelName ?? opts.model ?? opts.preset!;
  const backend = new EngineBackend({
    engine,
    modelName,
    chatTemplateOptions: opts.enableThinking === undefined ? undefined : { enableThinking: opts.enableThinking },
  });
  try {
    const server = await createServer({
      backend,
      host: opts.host,
      port: opts.port,
      maxConcurrency: opts.maxConcurrency,
      maxQueue: opts.maxQueue,
      requestTimeoutMs: opts.requestTimeoutMs,
    });
    onListening?.(server);
    console.log(`serving '${modelName}' (${source}, ${opts.dtype}, context ${engine.maxSeqLen}) at ${server.url}/v1`);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    console.log("shutting down: finishing in-flight requests");
    await server.close();
  } finally {
    engine.dispose();
    model.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let opts: ServeCliOptions;
  try {
    opts = parseServeArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`forge serve: ${err.message}\n${USAGE}`);
    return 2;
  }
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130); // a second signal quits at once
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    await serveModel(opts, { signal: controller.signal });
    return 0;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

runIfMain(import.meta.url, main);
