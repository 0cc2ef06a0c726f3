/**
 * `forge sft` / `npx tsx apps/sft/main.ts --config apps/sft/default.yaml [overrides] [--resume]`
 *
 * Supervised fine-tuning: chat (`messages`) or prompt/response JSONL records, or the built-in
 * arithmetic task; loss on assistant tokens only. The final model goes to `<output_dir>/model`.
 */
import { loadSftConfig } from "../../src/config/index.ts";
import { packagePath } from "../../src/util/package-root.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { parseCommandLine, withCtrlC } from "../shared/cli.ts";
import { runSft } from "./sft-run.ts";
import { insideLauncher, relaunchAsRanks } from "../shared/data-parallel.ts";

export const DEFAULT_SFT_CONFIG = packagePath("apps", "sft", "default.yaml"); // from sources and from dist/ alike

export async function main(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, DEFAULT_SFT_CONFIG, loadSftConfig);
  if (!cli) return 2;
  const { config, snake } = cli.loaded;
  // processes.procs > 1: this process becomes the launcher of that many data-parallel ranks.
  if (config.processes.procs > 1 && !insideLauncher()) return relaunchAsRanks("sft", argv, config.processes.procs);
  return withCtrlC(async (signal) => {
    const result = await runSft({ config, rawConfig: snake, resume: cli.resume, signal, progress: process.stdout.isTTY });
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath}`);
    return signal.aborted ? 130 : 0;
  });
}

runIfMain(import.meta.url, main);
