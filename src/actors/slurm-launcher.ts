/**
 * Starts a rendered sbatch script (slurm-script.ts): submits it with `sbatch`, or — inside an
 * existing allocation (salloc, or a batch job's own shell) — runs it with `bash`, where its
 * `srun` takes the allocation's nodes.
 */
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Slurm is missing, or refused or failed a job. The message says what to do. */
export class SlurmLaunchError extends Error {
  override name = "SlurmLaunchError";
}

/** The absolute path of `command` on `PATH`, or undefined. */
export function findExecutable(command: string, path: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Throws a SlurmLaunchError naming the Slurm command missing from PATH and the alternatives. */
export function requireSlurmCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = findExecutable(command, env.PATH);
  if (found === undefined) {
    throw new SlurmLaunchError(
      `${command} not found on PATH: run forge slurm on a Slurm cluster's login node (or install Slurm: Debian/Ubuntu ` +
        "apt-get install slurm-client), or start the ranks without Slurm with forge launch --nproc-per-node N " +
        "(on each node: --nnodes M --node-rank R --master-addr HOST)",
    );
  }
  return found;
}

/** True inside a Slurm job or allocation (salloc's shell, a batch script, an srun task). */
export function insideSlurmAllocation(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.SLURM_JOB_ID ?? "") !== "";
}

export interface SubmitOptions {
  scriptPath: string;
  env?: NodeJS.ProcessEnv;
  /** `sbatch --wait`: resolve when the job has ended, with its exit code. */
  wait?: boolean;
  /** Called with the job id as soon as sbatch prints it (before the job ends, with `wait`). */
  onSubmitted?: (jobId: string) => void;
}

export interface SubmitResult {
  jobId: string;
  /** With `wait`: the job's exit code (sbatch's: the highest of its steps'). */
  exitCode?: number;
}

/** `sbatch --parsable [--wait] script`; a refusal becomes a SlurmLaunchError carrying sbatch's stderr. */
export async function submitBatchScript(o: SubmitOptions): Promise<SubmitResult> {
  const env = o.env ?? process.env;
  const sbatch = requireSlurmCommand("sbatch", env);
  const child = spawn(sbatch, ["--parsable", ...(o.wait ? ["--wait"] : []), o.scriptPath], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let jobId: string | undefined;
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    // --parsable prints "<id>[;<cluster>]" on a line of its own, at submission.
    const m = /^(\d+)(?:;\S*)?\s*$/m.exec(stdout);
    if (jobId === undefined && m) {
      jobId = m[1]!;
      o.onSubmitted?.(jobId);
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", (e) => reject(new SlurmLaunchError(`sbatch could not start: ${e.message}`)));
    child.on("close", (c, signal) => resolve(c ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
  if (jobId === undefined) {
    throw new SlurmLaunchError(`sbatch refused ${o.scriptPath} (exit ${code}): ${stderr.trim() || stdout.trim() || "no message"}`);
  }
  return { jobId, ...(o.wait ? { exitCode: code } : {}) };
}

/** The ids (`<job>.<step>`) of the running steps named `name` in job `jobId`. */
export function findSteps(jobId: string, name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const squeue = findExecutable("squeue", env.PATH);
  if (squeue === undefined) return [];
  const r = spawnSync(squeue, ["--noheader", "--steps", "--jobs", jobId, "--format", "%i %j"], { env, encoding: "utf8", timeout: 10_000 });
  return (r.stdout ?? "")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([id, stepName]) => id !== undefined && id !== "" && stepName === name)
    .map(([id]) => id!);
}

/**
 * Runs the script with bash inside the current allocation and resolves with its exit code.
 * A first SIGINT/SIGTERM/SIGHUP here becomes SIGTERM to every rank (`scancel --signal=TERM` on
 * the step named `stepName`): the apps stop gracefully, with a checkpoint. srun itself would
 * SIGKILL the ranks on SIGTERM ("forcing job termination"), so that is what a second signal does.
 */
export async function runInAllocation(o: { scriptPath: string; stepName: string; env?: NodeJS.ProcessEnv }): Promise<number> {
  const env = o.env ?? process.env;
  requireSlurmCommand("srun", env);
  const child = spawn("bash", [o.scriptPath], { env, stdio: "inherit" });
  let received = 0;
  const onSignal = () => {
    received++;
    const jobId = env.SLURM_JOB_ID ?? "";
    const scancel = findExecutable("scancel", env.PATH);
    const steps = received === 1 && scancel !== undefined ? findSteps(jobId, o.stepName, env) : [];
    if (steps.length > 0) spawnSync(scancel!, ["--signal=TERM", ...steps], { env, stdio: "ignore", timeout: 10_000 });
    else child.kill("SIGTERM");
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.on(s, onSignal);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on("error", (e) => reject(new SlurmLaunchError(`bash could not start: ${e.message}`)));
      child.on("close", (c, signal) => resolve(c ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15)));
    });
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
