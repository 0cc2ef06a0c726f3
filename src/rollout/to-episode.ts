/**
 * A finished multi-turn episode as the RL library's `Episode`: the first prompt is the
 * completion's prompt, and everything after it — sampled turns and the environment's template
 * tokens — is its response, with `lossMask` 1 only on sampled tokens. The generator logprobs of
 * masked tokens are 0 and never read (the mask gates the loss, the KL term and the importance
 * correction alike), so every existing loss, advantage and filter works unchanged.
 */
import { createEpisode, type Episode } from "../rl/index.ts";
import type { EpisodeRecord } from "./run-episode.ts";

export interface ToEpisodeOptions {
  id: string;
  /** The task's prompt as text (for logs and reward functions that read it). */
  prompt: string;
  target?: unknown;
  /** Decodes response ids for `completion.text` (logs only). */
  decode?: (ids: readonly number[]) => string;
}

export function toEpisode(record: EpisodeRecord, o: ToEpisodeOptions): Episode {
  const t = record.trajectory;
  const P = t.promptLength;
  const tokenIds = t.ids.slice(P);
  return createEpisode({
    id: o.id,
    prompt: o.prompt,
    target: o.target,
    completion: {
      text: o.decode ? o.decode(tokenIds) : "",
      promptIds: t.ids.slice(0, P),
      tokenIds,
      logprobs: t.logprobs.slice(P),
      stopReason: record.truncated ? "length" : "stop",
      // The oldest weights that sampled any turn: staleness bounds must hold for every token.
      generatorVersion: t.generatorVersions.length ? Math.min(...t.generatorVersions) : 0,
      metadata: { turns: record.turns, toolCalls: record.toolCalls, toolCallErrors: record.toolCallErrors, prefixDivergences: record.divergences.length },
    },
    reward: record.reward,
    rewardBreakdown: { env: record.reward },
    lossMask: t.lossMask.slice(P),
  });
}
