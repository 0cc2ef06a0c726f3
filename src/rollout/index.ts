/**
 * `torchforge/rollout`: multi-turn, token-faithful rollouts. Environments (src/envs) and agent
 * functions drive conversations; this layer turns each into ONE token sequence with the
 * generator's sampled ids and logprobs (loss mask 1) and the template's tokens for everything
 * else (mask 0), batches many episodes onto one generator, and hands `Episode`s to src/rl.
 */
export { ChatRenderer } from "./chat-renderer.ts";
export type { ChatRendererOptions, RenderTokenizer } from "./chat-renderer.ts";
export { Trajectory } from "./trajectory.ts";
export { RequestBatcher } from "./request-batcher.ts";
export type { BatchGenerator, RequestBatcherOptions } from "./request-batcher.ts";
export { runEpisode, comparePrefix, turnSeed } from "./run-episode.ts";
export type { AssistantParser, EpisodeBudget, EpisodeRecord, PrefixDivergence, RunEpisodeOptions } from "./run-episode.ts";
export { groupRollout, episodeMetrics } from "./group-rollout.ts";
export type { GroupRolloutOptions, TaskEpisodes } from "./group-rollout.ts";
export { toEpisode } from "./to-episode.ts";
export type { ToEpisodeOptions } from "./to-episode.ts";
export { RolloutError, EnvironmentError } from "./errors.ts";
export { RecordingBackend, extendsConversation } from "./recording-backend.ts";
export type { RecordingBackendOptions } from "./recording-backend.ts";
export { agentGroupRollout } from "./agent-function.ts";
export type { AgentFunction, AgentRolloutOptions } from "./agent-function.ts";
