/**
 * `torchforge/generation`: the inference engine — batched sampling with a preallocated KV cache,
 * shared-prefix groups, continuous batching, per-token logprobs and in-place weight updates.
 * @example
 * const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64 });
 * const completions = await engine.generate(["What is 2+2?"], { n: 8, temperature: 1, maxTokens: 128, seed: 0 });
 * await engine.updateWeights(trainer.model.stateDict(), step);
 */
export { GenerationEngine } from "./engine.ts";
export type { GenerationEngineOptions, GenerationModel } from "./engine.ts";
export { KvCache } from "./kv-cache.ts";
export type { KvCacheOptions } from "./kv-cache.ts";
export { sampleTokens } from "./sampler.ts";
export type { ResolvedSampling, SampledTokens } from "./sampler.ts";
export { SequenceRng, deriveSeed } from "./rng.ts";
export { GenerationError, InvalidParameterError, InvalidPromptError, PromptTooLongError } from "./types.ts";
export type { Completion, GenerationRequest, Prompt, SamplingParams, TopLogprobs } from "./types.ts";
