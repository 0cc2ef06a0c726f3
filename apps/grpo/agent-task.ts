/**
 * The agentic task: each rollout runs n multi-turn episodes of `promptsPerRollout` tasks against
 * the configured environment (src/envs), all in flight together on the batched generator, and
 * records them token-faithfully (src/rollout). The episodes then go through the same group
 * filters, advantages and losses as single-turn completions. Eval is held-out greedy success: the
 * fraction of episodes whose reward is > 0.
 */
import { groupRollout, RequestBatcher, type GroupRolloutOptions } from "../../src/rollout/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import { resolveEnvironment } from "../shared/resolve-environment.ts";
import { rolloutSeed, type GrpoTask, type TaskContext } from "./prompt-task.ts";
import { AgentEpisodes, chatOptions, type EnvironmentConfig } from "./agent-common.ts";
import { agentFunctionTask } from "./agent-function-task.ts";

export async function agentTask(c: TaskContext & { environment: EnvironmentConfig }): Promise<GrpoTask> {
  const { config, tokenizer, environment: spec } = c;
  if (spec.agent !== undefined) {
    return agentFunctionTask(c);
  }
  const createEnv = await resolveEnvironment(spec.name!, spec.options);
  const g = config.grpo;
  const batcher = new RequestBatcher(c.generator, { maxInFlight: c.generator.parallelism });
  const episodes = new AgentEpisodes(c);
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
  return {
    description: `multi-turn episodes in '${spec.name}' (≤ ${spec.maxTurns} turns)`,
    collect: async (tag, attempt) => {
      const tasks = Array.from({ length: c.promptsPerRollout }, () => c.sampler.sample());
      const t0 = performance.now();
      const byTask = await groupRollout({
        ...episodeOptions(),
        tasks,
        n: g.nSamples,
        seed: rolloutSeed(config, tag, attempt, c.rank),
        sampling: { temperature: g.temperature, topP: g.topP, topK: g.topK, minP: g.minP, stop: g.stop },
      });
      return episodes.trainable(byTask, (performance.now() - t0) / 1000);
    },
    evaluate: async (step) => {
      const byTask = await groupRollout({ ...episodeOptions(), tasks: c.evalExamples, n: 1, seed: step, sampling: { greedy: true } });
      return episodes.evaluate(
        step,
        byTask.map((t) => t.records[0]!),
        byTask.length,
      );
    },
  };
}
