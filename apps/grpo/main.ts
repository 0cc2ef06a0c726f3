/**
 * `forge grpo` / `npx tsx apps/grpo/main.ts --config apps/grpo/default.yaml [overrides] [--resume]`
 *
 * Trains a language model with GRPO (or any configured policy loss). Overrides use either
 * spelling: `training.learning_rate=3e-6` or `--grpo.loss dapo`; `~services.ref_model` removes a
 * section. Ctrl-C (or SIGTERM) writes a checkpoint and stops cleanly (exit 130; 143 for SIGTERM); a second one
 * quits at once; `--resume` continues from it. `services.trainer.procs: N` (or `--trainer.procs N`)
 * relaunches the app as N data-parallel ranks on this host (see grpo-run.ts).
 */
import { grpoConfigSchema, loadGrpoConfig } from "../../src/config/index.ts";
import { packagePath } from "../../src/util/package-root.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { appHelp, parseCommandLine, runCli, stopExitCode, wantsHelp, withCtrlC } from "../shared/cli.ts";
import { runGrpo } from "./grpo-run.ts";
import { insideLauncher, relaunchAsRanks } from "../shared/data-parallel.ts";

export const DEFAULT_GRPO_CONFIG = packagePath("apps", "grpo", "default.yaml"); // from sources and from dist/ alike

export function grpoHelp(): string {
  return appHelp({
    app: "grpo",
    summary:
      "Trains a language model with GRPO (or any configured policy loss: grpo.loss)." +
      " Ctrl-C writes a checkpoint and stops; --resume continues.",
    schema: grpoConfigSchema,
    defaultConfig: "apps/grpo/default.yaml",
    example: "forge grpo --config apps/grpo/qwen3_1_7b.yaml grpo.loss=dapo training.steps=200 --training.learning_rate 1e-6",
  });
}

export async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(grpoHelp());
    return 0;
  }
  return runCli("grpo", () => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, DEFAULT_GRPO_CONFIG, loadGrpoConfig);
  const { config, snake, warnings } = cli.loaded;
  if (!insideLauncher()) for (const w of warnings) console.error(`warning: ${w}`); // once, not per rank
  // services.trainer.procs > 1: this process becomes the launcher of that many data-parallel ranks.
  const procs = config.services.trainer.procs;
  if (procs > 1 && !insideLauncher()) return relaunchAsRanks("grpo", argv, procs);
  const stopMessage = "finishing the current step, writing a checkpoint, then stopping (Ctrl-C again to quit now)";
  return withCtrlC(async (signal) => {
    const result = await runGrpo({ config, rawConfig: snake, resume: cli.resume, signal, progress: process.stdout.isTTY });
    const dp = result.dataParallel;
    if (dp) console.log(`rank ${dp.rank} of ${dp.worldSize}: final weights sha256 ${dp.weightsSha256}`);
    if (dp && dp.rank > 0) return result.stoppedEarly ? stopExitCode(signal) : 0;
    const first = result.evals[0]?.result.accuracy;
    const last = result.evals.at(-1)?.result.accuracy;
    if (first !== undefined && last !== undefined) {
      console.log(`held-out greedy accuracy: ${(first * 100).toFixed(1)}% → ${(last * 100).toFixed(1)}% over ${result.steps} steps`);
    }
    console.log(`checkpoints: ${result.checkpointDir}`);
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath} (open it in a browser; works offline)`);
    return result.stoppedEarly ? stopExitCode(signal) : 0;
  }, stopMessage);
}

runIfMain(import.meta.url, main);
