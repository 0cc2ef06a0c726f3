/** Requests, sampling parameters, completions and errors of the generation engine. */
import type { ChatMessage } from "../models/index.ts";

/** Text (tokenized with the engine's tokenizer), token ids, or chat messages (chat template). */
export type Prompt = string | readonly number[] | readonly ChatMessage[];

export interface GenerationRequest {
  prompt: Prompt;
  /**
   * Seed of this request's samples (sample j uses a stream derived from (seed, j)); fixes its
   * output regardless of batch composition. @default derived from samplingParams.seed and the request index
   */
  seed?: number;
  /** Copied into every completion's `metadata` (e.g. the dataset row, the target answer). */
  metadata?: Record<string, unknown>;
  /**
   * Called with each token as it is sampled (for streaming), stop tokens included, in order per
   * sample, with its logprob and (when `logprobs` > 0) its top alternatives. If it throws, the
   * `generate` call rejects with that error and frees its cache slots.
   */
  onToken?: (sampleIndex: number, tokenId: number, logprob: number, top?: TopLogprobs) => void;
}

export interface SamplingParams {
  /** Softmax temperature; 0 means greedy. @default 1 */
  temperature?: number;
  /** Same as temperature 0. @default false */
  greedy?: boolean;
  /** Nucleus sampling: smallest set of tokens with total probability ≥ topP. @default 1 (off) */
  topP?: number;
  /** Sample among the k most likely tokens. @default 0 (off) */
  topK?: number;
  /** Drop tokens with probability < minP × the top token's probability. @default 0 (off) */
  minP?: number;
  /** Samples per prompt (a GRPO group); the prompt is prefilled once for all of them. @default 1 */
  n?: number;
  /** Seed for reproducible sampling. @default random */
  seed?: number;
  /** Most tokens generated per sample. @default 256 */
  maxTokens?: number;
  /** Extra token ids that end a sample (added to the tokenizer's eos/stop ids). @default [] */
  stopTokenIds?: readonly number[];
  /** Do not stop on the tokenizer's eos/stop ids. @default false */
  ignoreEos?: boolean;
  /** Strings that end a sample; the text is cut before the first one. @default [] */
  stop?: readonly string[];
  /** Also report this many most likely alternatives per generated token. @default 0 */
  logprobs?: number;
  /** Drop special tokens from `text`. @default true */
  skipSpecialTokens?: boolean;
}

export interface TopLogprobs {
  tokenIds: number[];
  logprobs: number[];
}

export interface Completion {
  /** Index of the request in the `generate` call. */
  requestIndex: number;
  /** Index of the sample within its request's group (0..n-1). */
  sampleIndex: number;
  /** Decoded generated text, without the stop token and cut before a stop string. */
  text: string;
  promptIds: number[];
  /** Generated ids, including the stop token / the token that completed a stop string. */
  tokenIds: number[];
  /** logSoftmax(logits / temperature) of each generated token (temperature 1 when greedy). */
  logprobs: number[];
  /** Per generated token, when `samplingParams.logprobs` > 0. */
  topLogprobs?: TopLogprobs[];
  stopReason: "stop" | "length";
  /** Weight version that produced every token of this completion. */
  generatorVersion: number;
  metadata: Record<string, unknown> & {
    seed: number;
    stopTokenId?: number;
    stopString?: string;
  };
}

/** Base class of generation errors. */
export class GenerationError extends Error {
  override name = "GenerationError";
}

/** A sampling parameter or engine option outside its domain. */
export class InvalidParameterError extends GenerationError {
  override name = "InvalidParameterError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`'${field}' must be ${expected}; got ${JSON.stringify(value)}`);
  }
}

/** A request whose prompt cannot be turned into valid token ids. */
export class InvalidPromptError extends GenerationError {
  override name = "InvalidPromptError";
  constructor(
    readonly requestIndex: number,
    detail: string,
  ) {
    super(`request ${requestIndex}: ${detail}`);
  }
}

/** A prompt that leaves no room to generate within the engine's context length. */
export class PromptTooLongError extends GenerationError {
  override name = "PromptTooLongError";
  constructor(
    readonly requestIndex: number,
    readonly promptLength: number,
    readonly maxSeqLen: number,
  ) {
    super(`request ${requestIndex}: prompt has ${promptLength} tokens but the context holds ${maxSeqLen} (prompt + at least 1 generated token); shorten the prompt or raise maxSeqLen`);
  }
}
