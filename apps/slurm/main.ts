/**
 * `forge slurm [--config file.yaml] [--nodes N] [--nproc-per-node K] [options] <sft|grpo|script.ts> [args...]`
 *
 * Runs a forge app (or your own data-parallel script) as a Slurm job: writes an sbatch script —
 * one Slurm task per rank with torchrun's environment derived from Slurm's (src/actors/slurm-script.ts)
 * — into `<output_dir>/slurm/` (or `--output DIR`), submits it with `sbatch` and prints the job id
 * and the log files. Inside an existing allocation (SLURM_JOB_ID set: salloc, a batch job) it runs
 * the same script at once with srun instead of submitting. The app's config is loaded first, so a
 * broken config fails here rather than after the job has waited in the queue.
 */
import { parseArgs } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { ConfigError, extractConfigPath, loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import {
  renderSbatchScript,
  shellQuote,
  slurmJobName,
  slurmLogPaths,
  SlurmScriptError,
  type SbatchScriptOptions,
} from "../../src/actors/slurm-script.ts";
import {
  insideSlurmAllocation,
  requireSlurmCommand,
  runInAllocation,
  submitBatchScript,
  SlurmLaunchError,
} from "../../src/actors/slurm-launcher.ts";
import { writeFileAtomic } from "../../src/util/atomic-write.ts";
import { EXIT_CODES } from "../../src/util/exit-codes.ts";
import { FROM_SOURCES, packagePath, resolveShipped } from "../../src/util/package-root.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { FORGE_CLI } from "../shared/forge-cli.ts";
import { splitLauncherArgv } from "../shared/split-argv.ts";

export const USAGE = `usage: forge slurm [--config file.yaml] [--nodes N] [--nproc-per-node K] [--partition P] [--time T] [--job-name NAME]
                   [--cpus-per-task C] [--gpus-per-node G] [--master-port PORT] [--env KEY=VALUE]... [--sbatch OPTION]...
                   [--output DIR] [--wait] [--dry-run] [--] <sft|grpo|script.ts> [args...]`;

export const HELP = `${USAGE}

Runs a forge app (or your own data-parallel script) as a Slurm job. Writes an sbatch script into
<output_dir>/slurm/ (output_dir from the app's config; --output DIR for a script or elsewhere),
submits it with sbatch and prints the job id and its logs. Inside an existing allocation
(SLURM_JOB_ID set: salloc, or a batch job's own shell) it runs the ranks at once with srun.

Each rank is one Slurm task (srun --ntasks-per-node K) that gets torchrun's environment from
Slurm's: RANK=SLURM_PROCID, WORLD_SIZE=SLURM_NTASKS, LOCAL_RANK=SLURM_LOCALID,
LOCAL_WORLD_SIZE=SLURM_NTASKS_PER_NODE, MASTER_ADDR = the job's first host (scontrol show
hostnames), MASTER_PORT = 10000 + job id mod 10000. A failing rank ends the job
(--kill-on-bad-exit); scancel and time limits SIGTERM every rank (the apps checkpoint on it).
Inside an allocation, Ctrl-C or SIGTERM to forge slurm SIGTERMs every rank (scancel --signal=TERM
on its step); a second one has srun end the step at once.
The checkout or package and the data must be at the same path on every node (a shared filesystem).

options:
  --config FILE         the app's config (also accepted after the app name)
  --nodes N             nodes (default 1; inside an allocation, its node count)
  --nproc-per-node K    ranks per node (default: sft's processes.procs, else 1)
  --partition P         sbatch --partition (default: the cluster's default partition)
  --time T              sbatch --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS
  --cpus-per-task C     sbatch and srun --cpus-per-task (set OMP_NUM_THREADS to match with --env)
  --gpus-per-node G     sbatch --gpus-per-node
  --job-name NAME       what squeue shows (default forge-<app>-<config stem>, forge-<script stem>)
  --master-port PORT    a fixed rendezvous port instead of the one derived from the job id
  --env KEY=VALUE       exported to every rank (repeatable); the submitting shell's environment is passed on too
  --sbatch OPTION       a further #SBATCH line, verbatim (repeatable): --sbatch=--account=ml --sbatch=--exclusive
  --output DIR          where the script and the logs go (default <output_dir>/slurm)
  --wait                wait for the job to end (sbatch --wait) and exit with its exit code (srun's: the
                        highest of its ranks', 143 when it stopped the others after one failed; the failing
                        rank is named in the job log, and printed)
  --dry-run             print the script; write and submit nothing

logs: <DIR>/<job-name>-<job id>.out (the batch script), <DIR>/<job-name>-<job id>-rank<R>.out (rank R).

examples:
  forge slurm --nodes 2 --nproc-per-node 4 --partition gpu --time 2:00:00 sft --config apps/sft/llama3_8b.yaml
  salloc --nodes 2 --ntasks-per-node 4   # then, in its shell:  forge slurm --nproc-per-node 4 sft --config my.yaml
  forge slurm --nodes 1 --nproc-per-node 2 --output runs/own train.ts --steps 100`;

const FORGE_APPS = new Set(["sft", "grpo"]);
const VALUE_OPTIONS = new Set([
  "config",
  "nodes",
  "nproc-per-node",
  "partition",
  "time",
  "job-name",
  "cpus-per-task",
  "gpus-per-node",
  "master-port",
  "env",
  "sbatch",
  "output",
]);

class SlurmUsageError extends Error {
  override name = "SlurmUsageError";
}

function intOption(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new SlurmUsageError(
      `--${name}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}; got '${raw}'`,
    );
  }
  return Number(raw);
}

function parseEnv(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new SlurmUsageError(`--env: expected KEY=VALUE; got '${entry}'`);
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

/** What the job runs, and what the app's config says about where it writes and how many ranks it wants. */
interface Target {
  /** argv after the node binary and its flags: the forge CLI and the app, or the script. */
  program: string[];
  jobName: string;
  outputDir?: string;
  defaultNproc: number;
  /** The app runs as one process only. */
  singleProcess?: string;
}

function resolveTarget(name: string, args: string[]): Target {
  if (FORGE_APPS.has(name)) {
    const { configPath, rest } = extractConfigPath(args);
    const path = configPath !== undefined ? resolveShipped(configPath) : packagePath("apps", name, "default.yaml");
    const overrides = rest.filter((a) => a !== "--resume" && a !== "--resume=auto");
    const stem = basename(path).replace(/\.ya?ml$/i, "");
    if (name === "sft") {
      const { config } = loadSftConfig({ path, overrides });
      return {
        program: [FORGE_CLI, name, ...args],
        jobName: slurmJobName("forge", name, stem),
        outputDir: config.outputDir,
        defaultNproc: config.processes.procs,
      };
    }
    const { config } = loadGrpoConfig({ path, overrides });
    return {
      program: [FORGE_CLI, name, ...args],
      jobName: slurmJobName("forge", name, stem),
      outputDir: config.outputDir,
      defaultNproc: config.services.trainer.procs,
      // Data-parallel GRPO is colocated SPMD; one generator fleet feeding N trainer ranks is not built.
      ...(config.placement === "separate"
        ? {
            singleProcess:
              "grpo with placement: separate runs as one trainer process: use --nodes 1 --nproc-per-node 1, or placement: colocated",
          }
        : {}),
    };
  }
  if (!existsSync(name)) throw new SlurmUsageError(`script '${name}' not found (a .ts/.js file, or one of: ${[...FORGE_APPS].join(", ")})`);
  return { program: [resolve(name), ...args], jobName: slurmJobName("forge", basename(name, extname(name))), defaultNproc: 1 };
}

/** The environment sbatch/srun pass on to the job: this process's, less what names processes of this host. */
function jobEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.TORCHFORGE_WRAPPER_PID; // the forge wrapper of this host: a rank would watch a pid that is not its parent
  delete env.TORCHFORGE_LAUNCHER_PID;
  return env;
}

/** The `srun: error:` lines of a job's log (which rank exited how), if it can be read. */
function srunErrors(jobLog: string): string[] {
  try {
    return readFileSync(jobLog, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("srun: error:"));
  } catch {
    return [];
  }
}

export async function main(argv: string[]): Promise<number> {
  const { own, rest } = splitLauncherArgv(argv, VALUE_OPTIONS);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      allowPositionals: false,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        nodes: { type: "string" },
        "nproc-per-node": { type: "string" },
        partition: { type: "string" },
        time: { type: "string" },
        "job-name": { type: "string" },
        "cpus-per-task": { type: "string" },
        "gpus-per-node": { type: "string" },
        "master-port": { type: "string" },
        env: { type: "string", multiple: true },
        sbatch: { type: "string", multiple: true },
        output: { type: "string" },
        wait: { type: "boolean" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`forge slurm: usage error: ${(e as Error).message}\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (values.help) {
    console.log(HELP);
    return EXIT_CODES.ok;
  }
  try {
    const [name, ...appArgs] = rest;
    if (name === undefined) throw new SlurmUsageError("name the app (sft, grpo) or the script each rank runs");
    if (values.config !== undefined) {
      if (extractConfigPath(appArgs).configPath !== undefined)
        throw new SlurmUsageError("--config is given twice (before and after the app name)");
      appArgs.unshift("--config", values.config);
    }
    const allocated = insideSlurmAllocation();
    const nodes =
      intOption("nodes", values.nodes, 1) ?? (allocated ? intOption("nodes", process.env.SLURM_JOB_NUM_NODES, 1) : undefined) ?? 1;
    const target = resolveTarget(name, appArgs);
    const nproc = intOption("nproc-per-node", values["nproc-per-node"], 1) ?? target.defaultNproc;
    if (target.singleProcess !== undefined && nodes * nproc > 1) throw new SlurmUsageError(target.singleProcess);
    let logDir: string;
    if (values.output !== undefined) logDir = resolve(values.output);
    else if (target.outputDir !== undefined) logDir = resolve(target.outputDir, "slurm");
    else throw new SlurmUsageError(`--output DIR is required for a script (where its sbatch script and logs go)`);
    const jobName = values["job-name"] ?? target.jobName;
    // Each rank runs this Node, with the flags `forge` gives its controller, and tsx from the sources.
    const nodeFlags = process.env.TORCHFORGE_CONCURRENT_GC === "1" ? [] : ["--single-threaded-gc"];
    const loader = FROM_SOURCES || target.program[0]!.endsWith(".ts") ? ["--import", import.meta.resolve("tsx")] : [];
    const options: SbatchScriptOptions = {
      jobName,
      nodes,
      nprocPerNode: nproc,
      command: [process.execPath, ...nodeFlags, ...loader, ...target.program],
      logDir,
      workdir: process.cwd(),
      partition: values.partition,
      time: values.time,
      cpusPerTask: intOption("cpus-per-task", values["cpus-per-task"], 1),
      gpusPerNode: intOption("gpus-per-node", values["gpus-per-node"], 0),
      masterPort: intOption("master-port", values["master-port"], 1, 65535),
      env: parseEnv(values.env ?? []),
      sbatchArgs: values.sbatch ?? [],
      origin: `written by: forge slurm ${argv.map(shellQuote).join(" ")}`,
    };
    const script = renderSbatchScript(options);
    if (values["dry-run"]) {
      console.log(script.trimEnd());
      return EXIT_CODES.ok;
    }
    const env = jobEnvironment();
    requireSlurmCommand(allocated ? "srun" : "sbatch", env); // before writing anything
    const scriptPath = resolve(logDir, `${jobName}.sbatch`);
    writeFileAtomic(scriptPath, script);
    if (allocated) {
      console.log(
        `forge slurm: inside allocation ${process.env.SLURM_JOB_ID}: running ${nodes} node(s) x ${nproc} rank(s) with srun (${scriptPath})`,
      );
      return await runInAllocation({ scriptPath, stepName: jobName, env });
    }
    const submitted = await submitBatchScript({
      scriptPath,
      env,
      wait: values.wait === true,
      onSubmitted: (jobId) => {
        const logs = slurmLogPaths({ logDir, jobName, jobId });
        const ranks = nodes * nproc;
        console.log(
          [
            `forge slurm: submitted job ${jobId} (${jobName}: ${nodes} node(s) x ${nproc} rank(s))`,
            `  script     ${scriptPath}`,
            `  job log    ${logs.job}`,
            `  rank logs  ${ranks === 1 ? logs.rank(0) : `${logs.rank(0)} … ${logs.rank(ranks - 1)}`}`,
            `  follow     squeue -j ${jobId}; tail -f ${logs.rank(0)}; cancel: scancel ${jobId}`,
          ].join("\n"),
        );
      },
    });
    if (submitted.exitCode === undefined) return EXIT_CODES.ok;
    console.log(`forge slurm: job ${submitted.jobId} ended with exit code ${submitted.exitCode}`);
    // srun's exit code is its ranks' highest, so 143 when it stopped the others: its log names the rank that failed.
    if (submitted.exitCode !== 0)
      for (const line of srunErrors(slurmLogPaths({ logDir, jobName, jobId: submitted.jobId }).job)) console.log(`  ${line}`);
    return submitted.exitCode;
  } catch (e) {
    if (e instanceof SlurmUsageError || e instanceof SlurmScriptError) {
      console.error(`forge slurm: usage error: ${e.message}\n${USAGE}`);
      return EXIT_CODES.usage;
    }
    if (e instanceof ConfigError) {
      console.error(`forge slurm: config error: ${e.message}`);
      return EXIT_CODES.config;
    }
    if (e instanceof SlurmLaunchError) {
      console.error(`forge slurm: error: ${e.message}`);
      return EXIT_CODES.runtime;
    }
    throw e;
  }
}

runIfMain(import.meta.url, main);
