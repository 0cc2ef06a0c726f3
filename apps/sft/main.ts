/**
 * `forge sft` / `npx tsx apps/sft/main.ts --config apps/sft/default.yaml [overrides] [--resume]`
 *
 * Supervised fine-tuning: chat (`messages`) or prompt/response JSONL records, or the built-in
 * arithmetic task; loss on assistant tokens only. The final model goes to `<output_dir>/model`.
 */
import { loadSftConfig, sftConfigSchema } from "../../src/config/index.ts";
import { packagePath } from "../../src/util/package-root.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";
import { appHelp, parseCommandLine, runCli, stopExitCode, wantsHelp, withCtrlC } from "../shared/cli.ts";
import { runSft } from "./sft-run.ts";
import { insideLauncher, relaunchAsRanks } from "../shared/data-parallel.ts";

export const DEFAULT_SFT_CONFIG = packagePath("apps", "sft", "default.yaml"); // from sources and from dist/ alike

export function sftHelp(): string {
  return appHelp({
    app: "sft",
    summary:
      "Supervised fine-tuning on chat (messages) or prompt/response JSONL records, loss on assistant tokens only;" +
      " the model goes to <output_dir>/model.",
    schema: sftConfigSchema,
    defaultConfig: "apps/sft/default.yaml",
    example: "forge sft --config apps/sft/llama3_8b.yaml model.path=/models/Llama-3.1-8B-Instruct dataset.path=chat.jsonl",
  });
}

export async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(sftHelp());
    return 0;
  }
  return runCli("sft", () => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv, DEFAULT_SFT_CONFIG, loadSftConfig);
  const { config, snake } = cli.loaded;
  // processes.procs > 1: this process becomes the launcher of that many data-parallel ranks.
  if (config.processes.procs > 1 && !insideLauncher()) return relaunchAsRanks("sft", argv, config.processes.procs);
  return withCtrlC(async (signal) => {
    const result = await runSft({ config, rawConfig: snake, resume: cli.resume, signal, progress: process.stdout.isTTY });
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath}`);
    return signal.aborted ? stopExitCode(signal) : 0;
  });
}

runIfMain(import.meta.url, main);
