/**
 * GRPO groups of multi-turn episodes: n episodes of each task, all in flight at once (each with a
 * fresh environment), sharing one batched generator through the `RequestBatcher`. Returns the
 * episodes' records per task, in task order, plus the metrics of the rollout.
 */
import type { Environment } from "../envs/index.ts";
import { EnvironmentError } from "./errors.ts";
import { runEpisode, type EpisodeRecord, type RunEpisodeOptions } from "./run-episode.ts";

export interface GroupRolloutOptions<Task> extends Omit<RunEpisodeOptions<Task>, "env" | "task" | "seed" | "id"> {
  tasks: readonly Task[];
  /** Episodes per task (the GRPO group size). */
  n: number;
  /** A fresh environment per episode. */
  createEnv: () => Environment<Task>;
  /** Episode ids: `${taskId(task)}/${j}`. */
  taskId: (task: Task, index: number) => string;
  /** Seed of the rollout; episode (i, j) gets a distinct seed derived from it. */
  seed: number;
}

export interface TaskEpisodes<Task> {
  task: Task;
  records: EpisodeRecord[];
}

export async function groupRollout<Task>(o: GroupRolloutOptions<Task>): Promise<TaskEpisodes<Task>[]> {
  const { tasks, n, createEnv, taskId, seed, ...common } = o;
  const runs = tasks.map((task, i) =>
    Array.from({ length: n }, async (_, j) => {
      const id = `${taskId(task, i)}/${j}`;
      const env = createEnv();
      try {
        return await runEpisode({ ...common, env, task, id, seed: (seed + Math.imul(i * n + j + 1, 0x2545f491)) >>> 0 });
      } finally {
        try {
          await env.close?.();
        } catch (err) {
          // A close failure must not hide the episode's own result or error; it is still a bug to report.
          throw new EnvironmentError(`episode ${id}: environment.close`, `threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        }
      }
    }),
  );
  // Wait for every episode before failing, so no environment is left running behind an error.
  const settled = await Promise.allSettled(runs.flat());
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  const records = settled.map((s) => (s as PromiseFulfilledResult<EpisodeRecord>).value);
  return tasks.map((task, i) => ({ task, records: records.slice(i * n, (i + 1) * n) }));
}

/** Rollout metrics over a set of episodes (means per episode unless named otherwise). */
export function episodeMetrics(records: readonly EpisodeRecord[]): Record<string, number> {
  const k = Math.max(1, records.length);
  const sum = (f: (r: EpisodeRecord) => number) => records.reduce((s, r) => s + f(r), 0);
  const tokens = sum((r) => r.trajectory.responseLength);
  return {
    "agent/turns_per_episode": sum((r) => r.turns) / k,
    "agent/tool_calls_per_episode": sum((r) => r.toolCalls) / k,
    "agent/tool_call_parse_errors": sum((r) => r.toolCallErrors),
    "agent/tool_errors": sum((r) => r.toolErrors),
    "agent/prefix_divergences": sum((r) => r.divergences.length),
    "agent/truncated_fraction": sum((r) => (r.truncated ? 1 : 0)) / k,
    "agent/episode_length": tokens / k,
    "agent/masked_token_fraction": tokens ? 1 - sum((r) => r.trajectory.sampledCount) / tokens : 0,
    "agent/reward": sum((r) => r.reward) / k,
  };
}
