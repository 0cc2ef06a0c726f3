/**
 * The agentic task with a user's agent function (`environment.agent: ./my-agent.ts#agent`): the
 * policy is served on an OpenAI-compatible endpoint on 127.0.0.1 for the run; each episode's agent
 * gets an `openai` client pointed at its own `/episodes/<id>/v1` URL, and the `RecordingBackend`
 * turns its calls into token-faithful trajectories. Eval runs the same agent greedily.
 */
import { createServer } from "../../src/serve/index.ts";
import { agentGroupRollout, RecordingBackend, RequestBatcher, type AgentFunction } from "../../src/rollout/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import { importUserExport } from "../shared/resolve-rewards.ts";
import { rolloutSeed, type GrpoTask, type TaskContext } from "./prompt-task.ts";
import { AgentEpisodes, chatOptions, type EnvironmentConfig } from "./agent-common.ts";

export async function agentFunctionTask(c: TaskContext & { environment: EnvironmentConfig }): Promise<GrpoTask> {
  const { config, tokenizer, environment: spec } = c;
  const agent = await importUserExport(spec.agent!, "environment.agent");
  if (typeof agent !== "function") throw new TypeError(`environment.agent '${spec.agent}' must export a function (client, task) => reward`);
  const g = config.grpo;
  const { parseAssistant, toTemplate, checkPrefix, enableThinking } = chatOptions(tokenizer, spec) as ReturnType<typeof chatOptions> & {
    enableThinking?: boolean;
  };
  const batcher = new RequestBatcher(c.generator, { maxInFlight: c.generator.parallelism });
  const episodes = new AgentEpisodes(c);
  const common = {
    batcher,
    tokenizer,
    modelName: "policy",
    parseAssistant,
    toTemplate,
    checkPrefix,
    enableThinking,
    maxSeqLen: c.maxSeqLen,
    maxTokensPerTurn: spec.maxTokensPerTurn,
  };
  const training = new RecordingBackend({
    ...common,
    trainingSampling: { temperature: g.temperature, topP: g.topP, topK: g.topK, minP: g.minP },
  });
  const greedy = new RecordingBackend({ ...common, trainingSampling: { greedy: true } });
  // One server per backend: the URL an agent gets decides how its tokens are sampled.
  const limits = { maxConcurrency: 1024, maxQueue: 4096 };
  const trainServer = await createServer({ backend: training, ...limits });
  const evalServer = await createServer({ backend: greedy, ...limits });
  const run = (server: { url: string }, backend: RecordingBackend, tasks: PromptExample[], n: number, seed: number) =>
    agentGroupRollout({
      tasks,
      n,
      seed,
      agent: agent as AgentFunction<PromptExample>,
      backend,
      serverUrl: server.url,
      taskId: (t) => t.id,
    });
  return {
    description: `agent function '${spec.agent}' on ${trainServer.url}/v1`,
    collect: async (tag, attempt) => {
      const tasks = Array.from({ length: c.promptsPerRollout }, () => c.sampler.sample());
      const t0 = performance.now();
      const byTask = await run(trainServer, training, tasks, g.nSamples, rolloutSeed(config, tag, attempt, c.rank));
      return episodes.trainable(byTask, (performance.now() - t0) / 1000);
    },
    evaluate: async (step) => {
      const byTask = await run(evalServer, greedy, c.evalExamples, 1, step);
      const records = byTask.map((t) => t.records[0]).filter((r) => r !== undefined);
      return episodes.evaluate(step, records, byTask.length);
    },
    close: async () => {
      await trainServer.close();
      await evalServer.close();
    },
  };
}
