/**
 * Generator-replica fault cases for a GRPO run in separate placement (tiny random model, 1-digit
 * addition, `max_policy_age: 0` so a replica serving old weights makes only useless episodes).
 * Each case SIGKILLs replica processes once the first step is logged and reports what happened;
 * `bench/fault-injection.ts` (or anyone) calls them through this interface:
 *
 *   interface FaultCase { name; description; run(ctx: FaultContext): Promise<FaultOutcome> }
 *
 *   kill-one-replica       one of 2 replicas dies: the run completes, 1 restart, all replicas current
 *   kill-all-replicas      both die at once: both restart on the current weights, the run completes
 *   kill-all-no-restart    both die with `restart_limit: 0`: the run fails at once with a clear error
 *
 * Run alone: `node --import tsx bench/fault-cases/replicas.ts [case ...]` (prints one JSON line per case).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { liveChildPids } from "../../src/actors/index.ts";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { readMetricsJsonl } from "../../src/observability/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";

export interface FaultContext {
  /** Directory for the run's output (created if absent; should be empty). */
  dir: string;
  /** Progress, restart and failure lines of the run. @default none */
  log?: (line: string) => void;
  /** Training steps of the run. @default 6 */
  steps?: number;
}

export interface FaultOutcome {
  /** How the run ended: all steps done, or an error. */
  outcome: "completed" | "failed";
  /** What the case expects; `ok` also needs the case's own checks to pass. */
  expected: "completed" | "failed";
  ok: boolean;
  /** Steps asked for minus steps done (a failed run loses the rest). */
  stepsLost: number;
  /** Replica restarts counted in the run's metrics (`actors/restarts/GeneratorActor`). */
  restarts: number;
  /** Seconds from the kill to the end of the run. */
  secondsAfterKill: number;
  /** The run's error message, when it failed. */
  error?: string;
  /** What the checks found, in words. */
  detail: string;
}

export interface FaultCase {
  name: string;
  description: string;
  run(ctx: FaultContext): Promise<FaultOutcome>;
}

interface Scenario {
  kill: "one" | "all";
  restartLimit: number | null;
  expected: "completed" | "failed";
}

function config(dir: string, steps: number, restartLimit: number | null) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      placement: "separate",
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", prompt_format: "raw" },
      training: { batch_size: 8, learning_rate: 1e-3, steps, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 8, max_prompt_tokens: 24, filter_zero_variance: false, rollout_workers: 2, max_policy_age: 0, progress_timeout_s: 60 },
      rewards: ["math"],
      services: { generator: { procs: 1, num_replicas: 2, restart_limit: restartLimit }, trainer: { procs: 1 } },
      checkpoint: { enable: false, folder: "${output_dir}/ckpt" },
    },
  });
}

async function runScenario(s: Scenario, ctx: FaultContext): Promise<FaultOutcome> {
  const steps = ctx.steps ?? 6;
  mkdirSync(ctx.dir, { recursive: true });
  const { config: cfg, snake } = config(ctx.dir, steps, s.restartLimit);
  const metricsPath = join(ctx.dir, "metrics.jsonl");
  let killedAt: number | undefined;
  let killed: number[] = [];
  // Kill once step 1 is on disk: the replicas have served and loaded at least one version.
  const watcher = setInterval(() => {
    if (killedAt !== undefined || readMetricsJsonl(metricsPath).length === 0) return;
    const pids = liveChildPids();
    if (pids.length < 2) return;
    killed = s.kill === "one" ? pids.slice(0, 1) : pids;
    killedAt = performance.now();
    for (const pid of killed) process.kill(pid, "SIGKILL");
  }, 20);
  let result: Awaited<ReturnType<typeof runGrpo>> | undefined;
  let error: Error | undefined;
  try {
    result = await runGrpo({ config: cfg, rawConfig: snake, progress: false, log: ctx.log ?? (() => undefined) });
  } catch (err) {
    error = err as Error;
  } finally {
    clearInterval(watcher);
  }
  const secondsAfterKill = killedAt === undefined ? NaN : (performance.now() - killedAt) / 1000;
  const records = readMetricsJsonl(metricsPath);
  const restarts = records.reduce((n, r) => n + (typeof r["actors/restarts/GeneratorActor"] === "number" ? (r["actors/restarts/GeneratorActor"] as number) : 0), 0);
  const done = result?.steps ?? Math.max(0, ...records.map((r) => r.step));
  const problems: string[] = [];
  if (killedAt === undefined) problems.push("the run ended before the kill");
  if (result?.generatorState) {
    const g = result.generatorState;
    if (!g.versions.every((v) => v === result!.policyVersion)) problems.push(`replica versions ${g.versions} != policy version ${result.policyVersion}`);
    if (!g.checksums.every((c) => Math.abs(c - g.trainerChecksum) <= 1e-9 * g.trainerChecksum)) problems.push(`replica |w| ${g.checksums} != trainer ${g.trainerChecksum}`);
    if (killed.some((p) => g.pids.includes(p))) problems.push("a killed pid still serves");
  }
  if (s.expected === "completed" && restarts !== killed.length) problems.push(`${restarts} restarts counted for ${killed.length} kills`);
  const outcome = error ? "failed" : "completed";
  return {
    outcome,
    expected: s.expected,
    ok: outcome === s.expected && problems.length === 0,
    stepsLost: steps - done,
    restarts,
    secondsAfterKill,
    error: error?.message,
    detail: problems.length ? problems.join("; ") : `killed ${killed.length} replica(s); ${outcome} after ${done}/${steps} steps`,
  };
}

export const replicaFaultCases: FaultCase[] = [
  {
    name: "kill-one-replica",
    description: "SIGKILL one of 2 generator replicas mid-run; it restarts on the current weights and the run completes",
    run: (ctx) => runScenario({ kill: "one", restartLimit: null, expected: "completed" }, ctx),
  },
  {
    name: "kill-all-replicas",
    description: "SIGKILL both generator replicas at once; both restart on the current weights and the run completes",
    run: (ctx) => runScenario({ kill: "all", restartLimit: null, expected: "completed" }, ctx),
  },
  {
    name: "kill-all-no-restart",
    description: "SIGKILL both generator replicas with restart_limit 0; the run fails at once naming the unhealthy replicas",
    run: (ctx) => runScenario({ kill: "all", restartLimit: 0, expected: "failed" }, ctx),
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wanted = process.argv.slice(2);
  for (const c of replicaFaultCases.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
    const out = await c.run({ dir: mkdtempSync(join(tmpdir(), `tf-fault-${c.name}-`)) });
    console.log(JSON.stringify({ case: c.name, ...out }));
  }
}
