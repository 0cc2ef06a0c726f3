/**
 * The RL data model as plain data (numbers and arrays, no tensors), so episodes can cross
 * process boundaries, sit in a replay buffer and be checkpointed as JSON. Tensors appear only
 * at collation (`collate.ts`).
 */

/** Why generation stopped. */
export type StopReason = "stop" | "length" | "abort" | (string & {});

/** One sampled response from the generator. */
export interface Completion {
  /** Decoded response text. */
  text: string;
  /** Prompt token ids (unpadded). */
  promptIds: number[];
  /** Response token ids (unpadded), including a final EOS if one was sampled. */
  tokenIds: number[];
  /** The generator's log-probability of each response token; same length as `tokenIds`. */
  logprobs?: number[];
  stopReason: StopReason;
  /** Policy version of the weights that generated this completion. */
  generatorVersion: number;
  metadata?: Record<string, unknown>;
}

/** One completion with its reward and advantage: the unit the replay buffer stores. */
export interface Episode {
  id: string;
  prompt: string;
  target?: unknown;
  completion: Completion;
  reward: number;
  /** Per-reward-function scores, for logging. */
  rewardBreakdown?: Record<string, number>;
  /** Filled by an advantage function; 0 until then. */
  advantage: number;
  /** Reference-model logprobs of the response tokens (same length as `completion.tokenIds`). */
  refLogprobs?: number[];
  /** Policy version the episode was generated with (= `completion.generatorVersion`). */
  policyVersion: number;
  /** 1 = train on this response token, 0 = skip (e.g. tool output); default all ones. */
  lossMask?: number[];
}

/** One prompt × n completions: the unit GRPO normalises advantages over. */
export interface Group {
  prompt: string;
  target?: unknown;
  episodes: Episode[];
}

export interface EpisodeInit {
  id: string;
  prompt: string;
  target?: unknown;
  completion: Completion;
  reward: number;
  rewardBreakdown?: Record<string, number>;
  refLogprobs?: number[];
  lossMask?: number[];
}

/** An episode with `advantage` 0 and `policyVersion` taken from the completion. */
export function createEpisode(init: EpisodeInit): Episode {
  return { ...init, advantage: 0, policyVersion: init.completion.generatorVersion };
}
