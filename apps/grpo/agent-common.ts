/**
 * What the two agentic tasks (environments, agent functions) share: chat rendering/parsing options,
 * turning a rollout's records into trainable episodes with their metrics, and eval.
 */
import type { Tokenizer } from "../../src/models/index.ts";
import { detectToolCallFormat, parseToolCalls, toTemplateMessages } from "../../src/models/index.ts";
import { episodeMetrics, toEpisode, type EpisodeRecord, type TaskEpisodes } from "../../src/rollout/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import type { Episode, Group } from "../../src/rl/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { EvalResult } from "../shared/evaluate.ts";
import { appendTrajectorySamples, recordMetric, trajectorySpans } from "../../src/observability/index.ts";
import type { TaskContext } from "./prompt-task.ts";
import { finishGroups } from "./rollout.ts";

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

function agentEvalResult(records: readonly EpisodeRecord[], decode: (ids: readonly number[]) => string): EvalResult {
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
function writeEvalSamples(
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

/** Prefix divergences printed in full per run; the rest are only counted. */
const MAX_DIVERGENCE_WARNINGS = 3;

/** Rollout records → metrics, a few divergence warnings, and the trainable episodes of their groups. */
export class AgentEpisodes {
  #warnings = 0;
  constructor(private readonly c: TaskContext) {}

  decode = (ids: readonly number[]): string => this.c.tokenizer.decode(ids);

  async trainable(byTask: readonly TaskEpisodes<PromptExample>[], generateSeconds: number): Promise<Episode[]> {
    const records = byTask.flatMap((t) => t.records);
    for (const [k, v] of Object.entries(episodeMetrics(records))) recordMetric(k, v);
    const sampled = records.reduce((s, r) => s + r.trajectory.sampledCount, 0);
    recordMetric("reward/mean", records.reduce((s, r) => s + r.reward, 0) / Math.max(1, records.length));
    recordMetric("generator/tokens_per_s", sampled / Math.max(1e-9, generateSeconds));
    recordMetric("main_perf/generate_s", generateSeconds, "sum");
    for (const d of records.flatMap((r) => r.divergences)) {
      if (this.#warnings++ >= MAX_DIVERGENCE_WARNINGS) break;
      this.c.log(
        `warning: turn ${d.turn} prompt differs from a full re-render at token ${d.at} (training keeps the sampled tokens)\n` +
          `  trajectory: ${JSON.stringify(d.trajectoryText)}\n  re-render:  ${JSON.stringify(d.rerenderText)}`,
      );
    }
    const groups: Group[] = byTask.map(({ task, records: rs }) => ({
      prompt: task.prompt,
      target: task.target,
      episodes: rs.map((r, j) => toEpisode(r, { id: `${task.id}/${j}`, prompt: task.prompt, target: task.target, decode: this.decode })),
    }));
    const g = this.c.config.grpo;
    return (
      await finishGroups(groups, {
        refModel: this.c.refModel,
        filterZeroVariance: g.filterZeroVariance,
        filterTruncated: g.filterTruncated,
        advantageMethod: g.scaleAdvantages ? "grpo" : "dr-grpo",
        temperature: g.temperature,
      })
    ).episodes;
  }

  /** Greedy success over eval tasks (one record each; a task whose episode made no call counts as failed). */
  evaluate(step: number, records: readonly EpisodeRecord[], tasks: number): EvalResult {
    const result = agentEvalResult(records, this.decode);
    result.accuracy = records.filter((r) => r.reward > 0).length / Math.max(1, tasks);
    writeEvalSamples(this.c.samplesPath, step, records, this.decode);
    recordMetric("eval/accuracy", result.accuracy);
    recordMetric("eval/response_length", result.meanResponseTokens);
    recordMetric("eval/turns_per_episode", records.reduce((s, r) => s + r.turns, 0) / Math.max(1, records.length));
    this.c.log(`eval @ step ${step}: greedy success ${(result.accuracy * 100).toFixed(1)}% — e.g. ${JSON.stringify(result.sample)}`);
    return result;
  }
}
