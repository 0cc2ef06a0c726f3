/** What the two agentic tasks share: chat rendering/parsing options and the eval summary. */
import type { Tokenizer } from "../../src/models/index.ts";
import { detectToolCallFormat, parseToolCalls, toTemplateMessages } from "../../src/models/index.ts";
import type { EpisodeRecord } from "../../src/rollout/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { EvalResult } from "../shared/evaluate.ts";
import { appendTrajectorySamples, trajectorySpans } from "../../src/observability/index.ts";

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

/** The first few eval episodes, with trained tokens marked, for the dashboard. */
export function writeEvalSamples(
  path: string,
  step: number,
  records: readonly EpisodeRecord[],
  decode: (ids: readonly number[]) => string,
  max = 3,
): void {
  appendTrajectorySamples(
    path,
    records.slice(0, max).map((r, i) => ({
      step,
      title: `eval episode ${i} (${r.turns} turns${r.truncated ? ", truncated" : ""})`,
      reward: r.reward,
      spans: trajectorySpans(r.trajectory.ids, r.trajectory.lossMask, decode),
    })),
  );
}
