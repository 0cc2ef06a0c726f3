/**
 * Data-parallel apps: the trainer placement's `procs` ranks. A run asked for N > 1 ranks that is
 * not yet inside a launcher re-launches itself as N ranks (src/actors/rank-launcher.ts, the same
 * launcher as `forge launch`); inside a rank, torchrun's environment joins the Gloo group. Rank 0
 * is the main rank: it alone takes the output directory's lock, writes logs, evaluations,
 * checkpoints and the final model; every rank trains on its own share of each global batch.
 */
import { availableParallelism } from "node:os";
import { distributed } from "../../src/torch/index.ts";
import { launchRanks } from "../../src/actors/rank-launcher.ts";
import { FORGE_CLI } from "./forge-cli.ts";

export interface DataParallelRank {
  group: distributed.ProcessGroup;
  rank: number;
  worldSize: number;
  isMain: boolean;
}

/** True when this process is one rank of a launched job (torchrun's WORLD_SIZE is set). */
export function insideLauncher(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== "";
}

/** Joins the job's process group when launched with more than one rank; null for a single process. */
export function joinDataParallel(): DataParallelRank | null {
  const env = distributed.readTorchrunEnv();
  if (env.worldSize === 1) return null;
  const group = distributed.initProcessGroup();
  return { group, rank: group.rank, worldSize: group.worldSize, isMain: group.rank === 0 };
}

/** Seconds a rank gets to stop gracefully after SIGTERM (apps/shared/cli.ts's stop timeout is 30 s). */
export const RANK_STOP_GRACE_S = 40;

/**
 * The ranks' environment: unless TORCHFORGE_NUM_THREADS is set, each rank gets its share of this
 * host's cores (at least 1), as torchrun caps OMP_NUM_THREADS — N ranks each spinning a thread per
 * core would oversubscribe the machine N times.
 */
export function rankEnv(procs: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): NodeJS.ProcessEnv {
  if (env.TORCHFORGE_NUM_THREADS) return env;
  return { ...env, TORCHFORGE_NUM_THREADS: String(Math.max(1, Math.floor(cores / procs))) };
}

/** Runs `forge <app> argv` as `procs` ranks on this host and returns the job's exit code. */
export async function relaunchAsRanks(app: string, argv: readonly string[], procs: number): Promise<number> {
  // The grace before SIGKILL outlasts a rank's own graceful stop (finish the step, checkpoint).
  const job = await launchRanks({
    script: FORGE_CLI,
    args: [app, ...argv],
    nprocPerNode: procs,
    graceS: RANK_STOP_GRACE_S,
    env: rankEnv(procs),
  });
  job.forwardSignals();
  return (await job.result).exitCode;
}

/** This rank's rows of a global batch: the contiguous slice `[rank·n/W, (rank+1)·n/W)`. */
export function rankShare<T>(rows: readonly T[], rank: number, worldSize: number): T[] {
  const per = rows.length / worldSize;
  return rows.slice(Math.round(rank * per), Math.round((rank + 1) * per));
}

/**
 * One rank's share of a global example order: every rank draws the same global batches of
 * `perRank × worldSize` from an identically seeded sampler and keeps its `rankShare`, so N ranks
 * together see exactly the examples one process would, in the same order. Every caller must take
 * whole shares (`perRank` examples between two refills), so the queue is empty at a step
 * boundary and the wrapped sampler's state alone resumes the order.
 */
export class RankShareSampler<T> {
  #queue: T[] = [];
  constructor(
    private readonly sampler: { sample(): T },
    private readonly perRank: number,
    private readonly rank: number,
    private readonly worldSize: number,
  ) {}

  sample(): T {
    if (this.#queue.length === 0) {
      const global = Array.from({ length: this.perRank * this.worldSize }, () => this.sampler.sample());
      this.#queue = rankShare(global, this.rank, this.worldSize);
    }
    return this.#queue.shift()!;
  }
}
