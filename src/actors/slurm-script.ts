/**
 * The sbatch script of `forge slurm`, rendered by a pure function (no I/O): one Slurm task per
 * rank (`srun --ntasks-per-node K`), each given torchrun's environment from Slurm's —
 * RANK = SLURM_PROCID, WORLD_SIZE = SLURM_NTASKS, LOCAL_RANK = SLURM_LOCALID, LOCAL_WORLD_SIZE =
 * SLURM_NTASKS_PER_NODE, GROUP_RANK = SLURM_NODEID, MASTER_ADDR = the job's first host, MASTER_PORT
 * derived from the job id. One task per rank (not one `forge launch` per node) so that Slurm itself
 * tracks, signals, accounts and logs each rank: `srun --output …-rank%t.out` writes one file per
 * rank, `--kill-on-bad-exit` stops the job when a rank fails, and a time limit or `scancel`
 * SIGTERMs every rank directly (the apps checkpoint on SIGTERM).
 *
 * The same file runs inside an existing allocation with `bash script` (the #SBATCH lines are then
 * comments; the srun line names its own shape), which is what `forge slurm` does under salloc.
 */

export class SlurmScriptError extends Error {
  override name = "SlurmScriptError";
}

export interface SbatchScriptOptions {
  /** `--job-name`: what squeue shows, and the stem of the log files. */
  jobName: string;
  nodes: number;
  /** Ranks (Slurm tasks) per node. */
  nprocPerNode: number;
  /** What every rank execs: an argv, the program first (absolute paths: it runs on other nodes). */
  command: readonly string[];
  /** Absolute directory for the job's log (`<job>-<id>.out`) and one log per rank (`<job>-<id>-rank<R>.out`). */
  logDir: string;
  /** Absolute working directory of the job (`--chdir`); relative paths in `command` resolve here. */
  workdir: string;
  partition?: string;
  /** `--time`: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or UNLIMITED. */
  time?: string;
  cpusPerTask?: number;
  gpusPerNode?: number;
  /** A fixed rendezvous port; by default 10000 + job id mod 10000 (below Linux's ephemeral ports). */
  masterPort?: number;
  /** Exported before srun, so every rank sees them (on top of the submitting shell's environment, which sbatch passes on). */
  env?: Readonly<Record<string, string>>;
  /** Further #SBATCH lines, verbatim (`--account=ml`, `--qos=high`, `--exclusive`). */
  sbatchArgs?: readonly string[];
  /** A comment line saying how the script was made (the forge slurm command line). */
  origin?: string;
}

/** The variables each rank's environment gets from the script: not settable with `env`. */
export const RANK_ENV_NAMES = ["RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT"] as const;

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `s` as one POSIX shell word: unchanged when it has no special characters, else single-quoted. */
export function shellQuote(s: string): string {
  if (SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A value on an `#SBATCH` line. sbatch reads these lines itself (no shell): a value with spaces
 * goes in double quotes, and it has no escape for a double quote or a line break, so those are refused.
 */
function sbatchValue(option: string, value: string): string {
  if (/["\n\r]/.test(value)) throw new SlurmScriptError(`${option}: a value on an #SBATCH line cannot contain '"' or a line break; got ${JSON.stringify(value)}`);
  if (value === "") throw new SlurmScriptError(`${option}: expected a non-empty value`);
  return SAFE_WORD.test(value) ? value : `"${value}"`;
}

const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;

/** True for a Slurm `--time` value. */
export function isSlurmTime(value: string): boolean {
  return TIME.test(value);
}

function checkInt(name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SlurmScriptError(`${name}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}; got ${value}`);
  }
}

function checkAbsolute(name: string, path: string): void {
  if (!path.startsWith("/")) throw new SlurmScriptError(`${name}: expected an absolute path; got '${path}'`);
}

/** A name squeue shows well: letters, digits, `.`, `_` and `-` only (others become `-`). */
export function slurmJobName(...parts: string[]): string {
  return parts
    .filter((p) => p !== "")
    .join("-")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Where a job's logs go: the batch script's own output, and each rank's (srun's `%t` = the global rank). */
export function slurmLogPaths(o: { logDir: string; jobName: string; jobId: string }): { job: string; rank: (rank: number | string) => string } {
  const stem = `${o.logDir.replace(/\/+$/, "")}/${o.jobName}-${o.jobId}`;
  return { job: `${stem}.out`, rank: (rank) => `${stem}-rank${rank}.out` };
}

/**
 * Each rank's torchrun environment, from the Slurm variables srun gives every task, a first log
 * line saying which rank this is, then the rank's command (its words are the positional
 * parameters: no second round of quoting).
 */
const RANK_WRAPPER =
  'export RANK="$SLURM_PROCID" WORLD_SIZE="$SLURM_NTASKS" LOCAL_RANK="$SLURM_LOCALID" ' +
  'LOCAL_WORLD_SIZE="$SLURM_NTASKS_PER_NODE" GROUP_RANK="$SLURM_NODEID"; ' +
  'echo "forge slurm: rank $RANK of $WORLD_SIZE (local $LOCAL_RANK of $LOCAL_WORLD_SIZE, node $GROUP_RANK: $SLURMD_NODENAME), ' +
  'rendezvous $MASTER_ADDR:$MASTER_PORT, pid $$"; exec "$@"';

export function renderSbatchScript(o: SbatchScriptOptions): string {
  checkInt("nodes", o.nodes, 1);
  checkInt("nprocPerNode", o.nprocPerNode, 1);
  checkInt("cpusPerTask", o.cpusPerTask, 1);
  checkInt("gpusPerNode", o.gpusPerNode, 0);
  checkInt("masterPort", o.masterPort, 1, 65535);
  checkAbsolute("logDir", o.logDir);
  checkAbsolute("workdir", o.workdir);
  if (o.command.length === 0) throw new SlurmScriptError("command: expected the program each rank runs and its arguments; got none");
  if (o.time !== undefined && !isSlurmTime(o.time)) {
    throw new SlurmScriptError(`time: expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED; got '${o.time}'`);
  }
  // Slurm expands %j, %t, %x ... in log file names: a literal % would be read as one of them.
  for (const [name, value] of [["logDir", o.logDir], ["jobName", o.jobName]] as const) {
    if (value.includes("%")) throw new SlurmScriptError(`${name}: cannot contain '%' (Slurm reads it as a log file pattern); got '${value}'`);
  }
  const logs = slurmLogPaths({ logDir: o.logDir, jobName: o.jobName, jobId: "%j" });
  const directives: [string, string | number | undefined][] = [
    ["--job-name", o.jobName],
    ["--nodes", o.nodes],
    ["--ntasks-per-node", o.nprocPerNode],
    ["--output", logs.job],
    ["--chdir", o.workdir],
    ["--partition", o.partition],
    ["--time", o.time],
    ["--cpus-per-task", o.cpusPerTask],
    ["--gpus-per-node", o.gpusPerNode],
  ];
  const lines = ["#!/bin/bash"];
  for (const [option, value] of directives) if (value !== undefined) lines.push(`#SBATCH ${option}=${sbatchValue(option, String(value))}`);
  for (const arg of o.sbatchArgs ?? []) {
    if (!arg.startsWith("-") || /[\n\r]/.test(arg)) throw new SlurmScriptError(`sbatchArgs: expected an sbatch option on one line (starting with '-'); got ${JSON.stringify(arg)}`);
    lines.push(`#SBATCH ${arg}`);
  }
  lines.push(
    ...(o.origin === undefined ? [] : [`# ${o.origin.replace(/[\n\r]+/g, " ")}`]),
    "# Submit with `sbatch <this file>`; inside an allocation (salloc) run it with `bash <this file>`.",
    "set -eu",
    ': "${SLURM_JOB_ID:?not inside a Slurm job: submit this script with sbatch, or run it with bash inside salloc}"',
  );
  for (const [name, value] of Object.entries(o.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SlurmScriptError(`env: '${name}' is not an environment variable name`);
    if ((RANK_ENV_NAMES as readonly string[]).includes(name)) {
      throw new SlurmScriptError(`env: ${name} is set for each rank from Slurm's environment${name === "MASTER_PORT" ? " (use masterPort / --master-port)" : ""}`);
    }
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  lines.push(
    "# Rendezvous: the job's first host; a port from the job id, so jobs sharing a node do not collide.",
    'MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    "export MASTER_ADDR",
    `export MASTER_PORT=${o.masterPort ?? "$((10000 + SLURM_JOB_ID % 10000))"}`,
    `echo "forge slurm: job $SLURM_JOB_ID on $SLURM_JOB_NODELIST: ${o.nodes} node(s) x ${o.nprocPerNode} rank(s), rendezvous $MASTER_ADDR:$MASTER_PORT"`,
    `echo "forge slurm: rank logs "${shellQuote(logs.job.slice(0, -"-%j.out".length))}"-$SLURM_JOB_ID-rank<R>.out"`,
  );
  const srun = [
    "exec srun",
    // The step's name is the job's, so that forge slurm finds its step inside an allocation (to signal it).
    `--job-name=${shellQuote(o.jobName)}`,
    `--nodes=${o.nodes}`,
    `--ntasks-per-node=${o.nprocPerNode}`,
    ...(o.cpusPerTask === undefined ? [] : [`--cpus-per-task=${o.cpusPerTask}`]),
    "--kill-on-bad-exit=1",
    `--output=${shellQuote(logs.rank("%t"))}`,
  ].join(" ");
  lines.push(
    "# One task per rank; a rank that fails ends the others (--kill-on-bad-exit).",
    `${srun} \\`,
    `  bash -c ${shellQuote(RANK_WRAPPER)} forge-rank \\`,
    `  ${o.command.map(shellQuote).join(" ")}`,
  );
  return `${lines.join("\n")}\n`;
}
