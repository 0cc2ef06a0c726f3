/**
 * One episode's token sequence, exactly as the generator saw and produced it: the first prompt,
 * then per turn the sampled ids (with their logprobs; trained) and the ids the chat template adds
 * for the environment's messages (context; not trained). Only ever appended to, so every turn's
 * prompt is a prefix of the final sequence by construction.
 */
import { RolloutError } from "./errors.ts";

export class Trajectory {
  /** Every id of the episode: prompt, sampled and context tokens in order. */
  readonly ids: number[];
  /** Per id: 1 where the generator sampled it (trained), 0 for prompt, template, tool and user tokens. */
  readonly lossMask: number[];
  /** Per id: the generator's logprob where sampled, 0 elsewhere. */
  readonly logprobs: number[];
  /** Length of the first prompt; `ids.slice(promptLength)` is the response the trainer sees. */
  readonly promptLength: number;
  /** Weight versions that sampled this episode's turns (a turn may straddle no update; turns may differ). */
  readonly generatorVersions: number[] = [];

  constructor(promptIds: readonly number[]) {
    if (promptIds.length === 0) throw new RolloutError("promptIds", "is empty; the first response token must be predicted from a prompt token");
    this.ids = [...promptIds];
    this.lossMask = promptIds.map(() => 0);
    this.logprobs = promptIds.map(() => 0);
    this.promptLength = promptIds.length;
  }

  get length(): number {
    return this.ids.length;
  }

  /** Tokens after the first prompt (sampled + context). */
  get responseLength(): number {
    return this.ids.length - this.promptLength;
  }

  /** Number of sampled (trained) tokens. */
  get sampledCount(): number {
    return this.lossMask.reduce((s, m) => s + m, 0);
  }

  appendSampled(tokenIds: readonly number[], logprobs: readonly number[], generatorVersion: number): void {
    if (tokenIds.length !== logprobs.length) {
      throw new RolloutError("logprobs", `has ${logprobs.length} values for ${tokenIds.length} sampled tokens; expected one per token`);
    }
    for (const [k, id] of tokenIds.entries()) {
      this.ids.push(id);
      this.lossMask.push(1);
      this.logprobs.push(logprobs[k]!);
    }
    this.generatorVersions.push(generatorVersion);
  }

  appendContext(tokenIds: readonly number[]): void {
    for (const id of tokenIds) {
      this.ids.push(id);
      this.lossMask.push(0);
      this.logprobs.push(0);
    }
  }
}
