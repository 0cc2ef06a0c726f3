/**
 * `src/serve`: an OpenAI-compatible HTTP server (chat completions with tools and streaming,
 * completions, models) over a pluggable `ServeBackend`; `EngineBackend` serves a local
 * `GenerationEngine`. Sits above `generation`; nothing below imports it.
 * @example
 * const server = await createServer({ backend: new EngineBackend({ engine, modelName: "qwen3" }) });
 * const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
 */
export { createServer } from "./server.ts";
export type { ServerOptions, RunningServer } from "./server.ts";
export { EngineBackend } from "./engine-backend.ts";
export type { EngineBackendOptions } from "./engine-backend.ts";
export { ServeError } from "./errors.ts";
export type { OpenAiErrorBody, OpenAiErrorType } from "./errors.ts";
export { IncrementalDetokenizer, StreamFilter } from "./text-stream.ts";
export type { StreamDelta, StreamFilterOptions } from "./text-stream.ts";
export type { BackendChoice, BackendResult, ChatRequest, CompletionRequest, ServeBackend, TokenCallback } from "./types.ts";
