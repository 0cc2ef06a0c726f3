/**
 * Agent functions: the agent a user already has — `async (client, task) => reward`, written with
 * the `openai` client (or any OpenAI-compatible client given `client.baseURL`) — run as RL
 * episodes. Each episode gets a client whose base URL is `<server>/episodes/<id>/v1`; whatever the
 * agent sends through it (chat completions with tools, streaming or not, several calls) is
 * recorded by the `RecordingBackend` against that episode, and the reward it returns is the
 * episode's.
 */
import OpenAI from "openai";
import { EnvironmentError, RolloutError } from "./errors.ts";
import type { RecordingBackend } from "./recording-backend.ts";
import type { EpisodeRecord } from "./run-episode.ts";
import type { TaskEpisodes } from "./group-rollout.ts";

/** An agent: talks to the policy through `client` and returns the episode's reward. */
export type AgentFunction<Task> = (client: OpenAI, task: Task) => number | Promise<number>;

export interface AgentRolloutOptions<Task> {
  tasks: readonly Task[];
  /** Episodes per task (the GRPO group size). */
  n: number;
  agent: AgentFunction<Task>;
  backend: RecordingBackend;
  /** The OpenAI-compatible server's root URL (`http://127.0.0.1:PORT`). */
  serverUrl: string;
  taskId: (task: Task, index: number) => string;
  seed: number;
}

/** Runs n agent episodes per task, all at once; records per task, in task order (an episode may yield several segments). */
export async function agentGroupRollout<Task>(o: AgentRolloutOptions<Task>): Promise<TaskEpisodes<Task>[]> {
  const runs = o.tasks.map((task, i) =>
    Array.from({ length: o.n }, async (_, j): Promise<EpisodeRecord[]> => {
      const id = `${o.taskId(task, i)}/${j}@${o.seed}`;
      o.backend.begin(id, (o.seed + Math.imul(i * o.n + j + 1, 0x2545f491)) >>> 0);
      let reward: number;
      try {
        const client = new OpenAI({ baseURL: `${o.serverUrl}/episodes/${encodeURIComponent(id)}/v1`, apiKey: "torchforge", maxRetries: 0 });
        reward = await o.agent(client, task);
      } catch (err) {
        o.backend.finish(id, 0);
        throw new EnvironmentError(`episode ${id}: agent function`, `threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
      if (typeof reward !== "number" || !Number.isFinite(reward)) {
        o.backend.finish(id, 0);
        throw new RolloutError(`episode ${id}: agent function`, `returned ${JSON.stringify(reward)}; expected a finite number (the episode's reward)`);
      }
      return o.backend.finish(id, reward);
    }),
  );
  const settled = await Promise.allSettled(runs.flat());
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  const perEpisode = settled.map((s) => (s as PromiseFulfilledResult<EpisodeRecord[]>).value);
  return o.tasks.map((task, i) => ({ task, records: perEpisode.slice(i * o.n, (i + 1) * o.n).flat() }));
}
