/**
 * `forge sft` / `npx tsx apps/sft/main.ts --config apps/sft/default.yaml [overrides] [--resume]`
 *
 * Supervised fine-tuning: chat (`messages`) or prompt/response JSONL records, or the built-in
 * arithmetic task; loss on assistant tokens only. The final model goes to `<output_dir>/model`.
 */
import { loadSftConfig } from "../../src/config/index.ts";
import { packagePath } from "../../src/util/package-root.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { parseCommandLine, stopExitCode, withCtrlC } from "../shared/cli.ts";
import { runSft } from "./sft-run.ts";

export const DEFAULT_SFT_CONFIG = packagePath("apps", "sft", "default.yaml"); // from sources and from dist/ alike

export async function main(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, DEFAULT_SFT_CONFIG, loadSftConfig);
  if (!cli) return 2;
  const { config, snake } = cli.loaded;
  return withCtrlC(async (signal) => {
    const result = await runSft({ config, rawConfig: snake, resume: cli.resume, signal, progress: process.stdout.isTTY });
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath}`);
    return signal.aborted ? stopExitCode(signal) : 0;
  });
}

runIfMain(import.meta.url, main);
