/**
 * `torchforge/rl`: the RL algorithm library. Pure functions and classes over tensors and plain
 * data — episodes, advantages, collation, losses, replay buffer. Deliberately no actors,
 * processes or file I/O: the apps wire these into services.
 */
export { RLError, RLOptionError, ShapeMismatchError, CollateError, ReplayBufferStateError } from "./errors.ts";
export type { Completion, Episode, EpisodeInit, Group, StopReason } from "./types.ts";
export { createEpisode } from "./types.ts";
export {
  assignAdvantages,
  drGrpoAdvantages,
  filterZeroVarianceGroups,
  grpoAdvantages,
  isZeroVariance,
  reinforcePlusPlusBaselineAdvantages,
  rlooAdvantages,
  std,
} from "./advantages.ts";
export type { AdvantageMethod, AdvantageOptions, AssignAdvantagesResult } from "./advantages.ts";
export { collate, responseLogits, responseLogprobs } from "./collate.ts";
export type { CollateOptions, TrainingBatch, TrainingInputs, TrainingTargets } from "./collate.ts";
export { ReplayBuffer } from "./replay-buffer.ts";
export type { ReplayBufferMetrics, ReplayBufferOptions, ReplayBufferStateDict } from "./replay-buffer.ts";
export { Mulberry32 } from "./random.ts";
export * from "./losses/index.ts";
