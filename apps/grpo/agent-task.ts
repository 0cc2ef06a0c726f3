/**
 * The agentic task: each rollout runs n multi-turn episodes of `promptsPerRollout` tasks against
 * the configured environment (src/envs), all in flight together on the batched generator, and
 * records them token-faithfully (src/rollout). The episodes then go through the same group
 * filters, advantages and losses as single-turn completions. Eval is held-out greedy success: the
 * fraction of episodes whose reward is > 0.
 */
import { episodeMetrics, groupRollout, RequestBatcher, toEpisode, type GroupRolloutOptions } from "../../src/rollout/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import type { Group } from "../../src/rl/index.ts";
import { recordMetric } from "../../src/observability/index.ts";
import { resolveEnvironment } from "../shared/resolve-environment.ts";
import { rolloutSeed, type GrpoTask, type TaskContext } from "./prompt-task.ts";
import { finishGroups } from "./rollout.ts";
import { agentEvalResult, chatOptions, writeEvalSamples, type EnvironmentConfig } from "./agent-common.ts";
import { agentFunctionTask } from "./agent-function-task.ts";

/** Prefix divergences printed in full per run; the rest are only counted. */
const MAX_DIVERGENCE_WARNINGS = 3;

export async function agentTask(c: TaskContext & { environment: EnvironmentConfig }): Promise<GrpoTask> {
  const { config, tokenizer, environment: spec } = c;
  if (spec.agent !== undefined) {
    return agentFunctionTask(c);
  }
  const createEnv = await resolveEnvironment(spec.name!, spec.options);
  const g = config.grpo;
  const batcher = new RequestBatcher(c.generator, { maxInFlight: c.generator.parallelism });
  let warnings = 0;
  const episodeOptions = (): Omit<GroupRolloutOptions<PromptExample>, "tasks" | "n" | "seed" | "sampling"> => ({
    createEnv: createEnv as GroupRolloutOptions<PromptExample>["createEnv"],
    taskId: (t) => t.id,
    batcher,
    ...chatOptions(tokenizer, spec),
    budget: {
      maxTurns: spec.maxTurns,
      maxTokensPerTurn: spec.maxTokensPerTurn,
      maxSeqLen: c.maxSeqLen,
      ...(spec.maxResponseTokens ? { maxResponseTokens: spec.maxResponseTokens } : {}),
    },
  });
  const decode = (ids: readonly number[]) => tokenizer.decode(ids);
  return {
    description: `multi-turn episodes in '${spec.name}' (≤ ${spec.maxTurns} turns)`,
    collect: async (tag, attempt) => {
      const tasks = Array.from({ length: c.promptsPerRollout }, () => c.sampler.sample());
      const t0 = performance.now();
      const byTask = await groupRollout({
        ...episodeOptions(),
        tasks,
        n: g.nSamples,
        seed: rolloutSeed(config, tag, attempt),
        sampling: { temperature: g.temperature, topP: g.topP, topK: g.topK, minP: g.minP, stop: g.stop },
      });
      const genS = (performance.now() - t0) / 1000;
      const records = byTask.flatMap((t) => t.records);
      for (const [k, v] of Object.entries(episodeMetrics(records))) recordMetric(k, v);
      const sampled = records.reduce((s, r) => s + r.trajectory.sampledCount, 0);
      recordMetric("reward/mean", records.reduce((s, r) => s + r.reward, 0) / Math.max(1, records.length));
      recordMetric("generator/tokens_per_s", sampled / Math.max(1e-9, genS));
      recordMetric("main_perf/generate_s", genS, "sum");
      for (const r of records)
        for (const d of r.divergences) {
          if (warnings++ < MAX_DIVERGENCE_WARNINGS) {
            c.log(
              `warning: turn ${d.turn} prompt differs from a full re-render at token ${d.at} (training keeps the sampled tokens)\n` +
                `  trajectory: ${JSON.stringify(d.trajectoryText)}\n  re-render:  ${JSON.stringify(d.rerenderText)}`,
            );
          }
        }
      const groups: Group[] = byTask.map(({ task, records: rs }) => ({
        prompt: task.prompt,
        target: task.target,
        episodes: rs.map((r, j) => toEpisode(r, { id: `${task.id}/${j}`, prompt: task.prompt, target: task.target, decode })),
      }));
      return finishGroups(groups, {
        refModel: c.refModel,
        filterZeroVariance: g.filterZeroVariance,
        filterTruncated: g.filterTruncated,
        advantageMethod: g.scaleAdvantages ? "grpo" : "dr-grpo",
      }).episodes;
    },
    evaluate: async (step) => {
      const byTask = await groupRollout({ ...episodeOptions(), tasks: c.evalExamples, n: 1, seed: step, sampling: { greedy: true } });
      const records = byTask.map((t) => t.records[0]!);
      const result = agentEvalResult(records, decode);
      writeEvalSamples(c.samplesPath, step, records, decode);
      recordMetric("eval/accuracy", result.accuracy);
      recordMetric("eval/response_length", result.meanResponseTokens);
      recordMetric("eval/turns_per_episode", records.reduce((s, r) => s + r.turns, 0) / Math.max(1, records.length));
      c.log(`eval @ step ${step}: greedy success ${(result.accuracy * 100).toFixed(1)}% — e.g. ${JSON.stringify(result.sample)}`);
      return result;
    },
  };
}
