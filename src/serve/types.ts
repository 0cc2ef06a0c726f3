/**
 * The seam between the HTTP server and whatever produces tokens: the server validates requests,
 * turns them into `ChatRequest`/`CompletionRequest`, and formats the backend's token ids, text
 * and logprobs as OpenAI responses. `EngineBackend` runs a local `GenerationEngine`; training
 * plugs in a backend that also records every call against its episode.
 */
import type { SamplingParams, TopLogprobs } from "../generation/index.ts";
import type { ChatMessage, Tokenizer, ToolSpec } from "../models/index.ts";

export interface ChatRequest {
  /** OpenAI-shaped messages (assistant `tool_calls` with JSON-string arguments; content always a string). */
  messages: ChatMessage[];
  /** Tools for the chat template (absent when the request has none or `tool_choice` is "none"). */
  tools?: ToolSpec[];
  sampling: SamplingParams;
  /** Set for requests under `/episodes/<id>/v1/...`. */
  episodeId?: string;
  /** Aborted when the client disconnects or the request times out. */
  signal?: AbortSignal;
  /** Extra chat-template variables (vLLM's `chat_template_kwargs`, e.g. `{ enable_thinking: false }`). */
  chatTemplateKwargs?: Record<string, unknown>;
}

export interface CompletionRequest {
  /** Text (tokenized by the backend, with special tokens) or token ids. */
  prompt: string | number[];
  sampling: SamplingParams;
  episodeId?: string;
  signal?: AbortSignal;
}

export interface BackendChoice {
  /** Decoded generated text (without the stop token, cut before a stop string). */
  text: string;
  /** Generated ids, including the stop token. */
  tokenIds: number[];
  /** Logprob of each generated id. */
  logprobs: number[];
  /** Per generated id, when `sampling.logprobs` > 0. */
  topLogprobs?: TopLogprobs[];
  stopReason: "stop" | "length";
}

export interface BackendResult {
  promptIds: number[];
  /** `sampling.n` choices, in order. */
  choices: BackendChoice[];
}

/** Called with each generated token as it is sampled (for streaming), in order per choice. */
export type TokenCallback = (choiceIndex: number, tokenId: number) => void;

export interface ServeBackend {
  readonly modelName: string;
  /** For token strings in logprobs, streaming detokenization and tool-call format detection. */
  readonly tokenizer: Tokenizer;
  chat(req: ChatRequest, onToken?: TokenCallback): Promise<BackendResult>;
  complete(req: CompletionRequest, onToken?: TokenCallback): Promise<BackendResult>;
}
