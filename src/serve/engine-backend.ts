/**
 * `ServeBackend` over a local `GenerationEngine`.
 *
 * Chat messages are rendered with the tokenizer's chat template (`toTemplateMessages`, the
 * request's tools, a generation prompt) and tokenized once; the engine samples from those ids.
 *
 * The engine runs one `generate` call at a time, so concurrent HTTP requests are batched here:
 * while a call runs, new requests wait; when it ends, every waiting request with the same
 * sampling parameters (all but the seed) goes into the next call, sharing its decode steps.
 * Each request gets its own seed (`deriveSeed(seed, 0)`, what `engine.generate([prompt], { seed })`
 * uses), so a request's tokens do not depend on what it was batched with.
 *
 * A request aborted while waiting is dropped. The engine has no per-request cancel, so one
 * aborted while its batch runs keeps generating (result discarded) unless every request of the
 * batch is aborted: then the engine call is stopped at its next token.
 */
import { deriveSeed, InvalidParameterError, InvalidPromptError, PromptTooLongError, type GenerationEngine, type SamplingParams } from "../generation/index.ts";
import { toTemplateMessages, type Tokenizer } from "../models/index.ts";
import type { BackendResult, ChatRequest, CompletionRequest, ServeBackend, TokenCallback } from "./types.ts";

export interface EngineBackendOptions {
  engine: GenerationEngine;
  /** The name clients pass as `model`. */
  modelName: string;
  /** Tokenizer for prompts and text. @default engine.tokenizer */
  tokenizer?: Tokenizer;
  /** Chat template switches applied to every request (a request's `chat_template_kwargs` win). */
  chatTemplateOptions?: { enableThinking?: boolean; extraContext?: Record<string, unknown> };
  /** Most requests put into one engine call. @default 256 */
  maxBatchRequests?: number;
}

interface Job {
  ids: number[];
  sampling: SamplingParams;
  key: string;
  seed: number;
  signal: AbortSignal | undefined;
  onToken: TokenCallback | undefined;
  resolve: (r: BackendResult) => void;
  reject: (err: unknown) => void;
}

export class EngineBackend implements ServeBackend {
  readonly modelName: string;
  readonly tokenizer: Tokenizer;
  readonly engine: GenerationEngine;
  readonly #options: EngineBackendOptions;
  readonly #pending: Job[] = [];
  #running = false;

  constructor(options: EngineBackendOptions) {
    const tokenizer = options.tokenizer ?? options.engine.tokenizer;
    if (!tokenizer) throw new InvalidParameterError("tokenizer", undefined, "a tokenizer (the engine has none)");
    this.engine = options.engine;
    this.modelName = options.modelName;
    this.tokenizer = tokenizer;
    this.#options = options;
  }

  chat(req: ChatRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const kwargs = { ...req.chatTemplateKwargs };
    const enableThinking = typeof kwargs.enable_thinking === "boolean" ? kwargs.enable_thinking : this.#options.chatTemplateOptions?.enableThinking;
    delete kwargs.enable_thinking;
    let ids: number[];
    try {
      ids = this.tokenizer.applyChatTemplate(toTemplateMessages(req.messages), {
        addGenerationPrompt: true,
        tools: req.tools,
        enableThinking,
        extraContext: { ...this.#options.chatTemplateOptions?.extraContext, ...kwargs },
        tokenize: true,
      });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit(ids, req.sampling, req.signal, onToken);
  }

  complete(req: CompletionRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const ids = typeof req.prompt === "string" ? this.tokenizer.encode(req.prompt, { addSpecialTokens: true }) : [...req.prompt];
    return this.#submit(ids, req.sampling, req.signal, onToken);
  }

  #submit(ids: number[], sampling: SamplingParams, signal: AbortSignal | undefined, onToken: TokenCallback | undefined): Promise<BackendResult> {
    const engine = this.engine;
    // Checked per request, so one bad request cannot fail the batch it would have joined.
    if (ids.length === 0) return Promise.reject(new InvalidPromptError(0, "prompt is empty (no tokens)"));
    const V = engine.model.config.vocabSize;
    const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= V);
    if (bad !== undefined) return Promise.reject(new InvalidPromptError(0, `token id ${bad} is outside the vocabulary [0, ${V})`));
    if (ids.length >= engine.maxSeqLen) return Promise.reject(new PromptTooLongError(0, ids.length, engine.maxSeqLen));
    const n = sampling.n ?? 1;
    if (n > engine.maxBatchSize) return Promise.reject(new InvalidParameterError("n", n, `at most the engine's maxBatchSize (${engine.maxBatchSize})`));
    // The engine also stops at its context length, so "no limit" is maxSeqLen.
    const resolved: SamplingParams = { ...sampling, maxTokens: sampling.maxTokens ?? engine.maxSeqLen };
    delete resolved.seed;
    const seed = sampling.seed !== undefined ? deriveSeed(sampling.seed, 0) : Math.floor(Math.random() * 2 ** 32);
    return new Promise<BackendResult>((resolve, reject) => {
      this.#pending.push({ ids, sampling: resolved, key: JSON.stringify(resolved), seed, signal, onToken, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        for (let i = this.#pending.length - 1; i >= 0; i--) {
          const job = this.#pending[i]!;
          if (job.signal?.aborted) {
            this.#pending.splice(i, 1);
            job.reject(job.signal.reason);
          }
        }
        if (this.#pending.length === 0) return;
        const key = this.#pending[0]!.key;
        const max = this.#options.maxBatchRequests ?? 256;
        const batch: Job[] = [];
        for (let i = 0; i < this.#pending.length && batch.length < max; ) {
          if (this.#pending[i]!.key === key) batch.push(...this.#pending.splice(i, 1));
          else i++;
        }
        await this.#run(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  async #run(batch: Job[]): Promise<void> {
    const n = batch[0]!.sampling.n ?? 1;
    // When every request of the batch has been aborted, nobody wants the rest: stop the engine
    // call by throwing from the token callback (the engine frees its slots).
    let aborted = 0;
    const stop = new AbortedBatch();
    const unlisten: Array<() => void> = [];
    for (const job of batch) {
      if (!job.signal) continue;
      const onAbort = (): void => void aborted++;
      if (job.signal.aborted) aborted++;
      else {
        job.signal.addEventListener("abort", onAbort, { once: true });
        unlisten.push(() => job.signal!.removeEventListener("abort", onAbort));
      }
    }
    const cancellable = batch.every((job) => job.signal);
    try {
      const completions = await this.engine.generate(
        batch.map((job) => ({
          prompt: job.ids,
          seed: job.seed,
          onToken:
            job.onToken || cancellable
              ? (sample: number, token: number) => {
                  if (cancellable && aborted === batch.length) throw stop;
                  try {
                    job.onToken?.(sample, token);
                  } catch {
                    // A failing listener (a closed stream) must not end the whole batch.
                  }
                }
              : undefined,
        })),
        batch[0]!.sampling,
      );
      batch.forEach((job, r) => {
        const mine = completions.slice(r * n, (r + 1) * n);
        job.resolve({
          promptIds: job.ids,
          choices: mine.map((c) => ({ text: c.text, tokenIds: c.tokenIds, logprobs: c.logprobs, topLogprobs: c.topLogprobs, stopReason: c.stopReason })),
        });
      });
    } catch (err) {
      for (const job of batch) job.reject(err === stop ? job.signal!.reason : err);
    } finally {
      for (const off of unlisten) off();
    }
  }
}

class AbortedBatch extends Error {
  override name = "AbortedBatch";
}
