/**
 * `forge launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] <script|app> [args...]`
 *
 * torchrun for this project: starts N ranks of a script (or of a forge app: `forge launch
 * --nproc-per-node 2 sft --config apps/sft/default.yaml`) with torchrun's environment, prefixes
 * their output with the rank, and stops the job when any rank fails, naming it. SIGINT/SIGTERM go
 * on to the ranks; a second one kills them.
 */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { launchRanks, RankLauncherError } from "../../src/actors/rank-launcher.ts";
import { FORGE_CLI } from "../shared/forge-cli.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { splitLauncherArgv } from "../shared/split-argv.ts";

export const USAGE = `usage: forge launch --nproc-per-node N [--nnodes M] [--node-rank R] [--master-addr HOST] [--master-port PORT]
                    [--grace-s S] [--] <script.ts|grpo|sft> [args...]`;
const FORGE_APPS = new Set(["grpo", "sft"]);

function intOption(name: string, raw: string | undefined, fallback: number | undefined, min: number): number | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new RankLauncherError(`--${name}: expected an integer ≥ ${min}; got '${raw}'`);
  return Number(raw);
}

const VALUE_OPTIONS = new Set(["nproc-per-node", "nnodes", "node-rank", "master-addr", "master-port", "grace-s"]);

export async function main(argv: string[]): Promise<number> {
  const { own, rest } = splitLauncherArgv(argv, VALUE_OPTIONS);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: false,
      strict: true,
      options: {
        "nproc-per-node": { type: "string" },
        nnodes: { type: "string" },
        "node-rank": { type: "string" },
        "master-addr": { type: "string" },
        "master-port": { type: "string" },
        "grace-s": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    console.error(`forge launch: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const positionals = rest;
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const nproc = intOption("nproc-per-node", values["nproc-per-node"], undefined, 1);
    if (nproc === undefined) throw new RankLauncherError("--nproc-per-node is required (ranks to start on this node)");
    const [target, ...args] = positionals;
    if (target === undefined) throw new RankLauncherError("name the script (or forge app) each rank runs");
    let script = target;
    let scriptArgs = args;
    if (FORGE_APPS.has(target)) {
      script = FORGE_CLI;
      scriptArgs = [target, ...args];
    } else if (!existsSync(target)) {
      throw new RankLauncherError(`script '${target}' not found (a .ts/.js file, or one of: ${[...FORGE_APPS].join(", ")})`);
    }
    const job = await launchRanks({
      script,
      args: scriptArgs,
      nprocPerNode: nproc,
      nnodes: intOption("nnodes", values.nnodes, 1, 1),
      nodeRank: intOption("node-rank", values["node-rank"], 0, 0),
      masterAddr: values["master-addr"],
      masterPort: intOption("master-port", values["master-port"], undefined, 1),
      graceS: intOption("grace-s", values["grace-s"], 5, 0),
    });
    job.forwardSignals();
    const result = await job.result;
    return result.exitCode;
  } catch (e) {
    if (e instanceof RankLauncherError) {
      console.error(`forge launch: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

runIfMain(import.meta.url, main);
