/** What the two agentic tasks share: chat rendering/parsing options and the eval summary. */
import type { Tokenizer } from "../../src/models/index.ts";
import { detectToolCallFormat, parseToolCalls, toTemplateMessages } from "../../src/models/index.ts";
import type { EpisodeRecord } from "../../src/rollout/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { EvalResult } from "../shared/evaluate.ts";

export type EnvironmentConfig = NonNullable<GrpoConfig["environment"]>;

/** The renderer/parser options every episode of a run shares. */
export function chatOptions(tokenizer: Tokenizer, spec: EnvironmentConfig) {
  const format = detectToolCallFormat(tokenizer.chatTemplate);
  return {
    tokenizer,
    toTemplate: toTemplateMessages,
    parseAssistant: (text: string, o: { idPrefix: string }) => parseToolCalls(text, format, o),
    checkPrefix: spec.checkPrefix,
    ...(spec.enableThinking !== null ? { enableThinking: spec.enableThinking } : {}),
  };
}

export function agentEvalResult(records: readonly EpisodeRecord[], decode: (ids: readonly number[]) => string): EvalResult {
  const k = Math.max(1, records.length);
  const first = records[0];
  return {
    accuracy: records.filter((r) => r.reward > 0).length / k,
    k: 1,
    meanResponseTokens: records.reduce((s, r) => s + r.trajectory.responseLength, 0) / k,
    sample: first ? decode(first.trajectory.ids.slice(first.trajectory.promptLength)) : "",
  };
}
