/**
 * `forge sft` / `npx tsx apps/sft/main.ts --config apps/sft/default.yaml [overrides] [--resume]`
 *
 * Supervised fine-tuning: chat (`messages`) or prompt/response JSONL records, or the built-in
 * arithmetic task; loss on assistant tokens only. The final model goes to `<output_dir>/model`.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, extractConfigPath, loadSftConfig } from "../../src/config/index.ts";
import { runSft } from "./sft-run.ts";

export const DEFAULT_SFT_CONFIG = fileURLToPath(new URL("./default.yaml", import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const { configPath, rest } = extractConfigPath(argv);
  const resume = rest.includes("--resume");
  let loaded;
  try {
    loaded = loadSftConfig({ path: configPath ?? DEFAULT_SFT_CONFIG, overrides: rest.filter((a) => a !== "--resume") });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const controller = new AbortController();
  const onSigint = () => (controller.signal.aborted ? process.exit(130) : controller.abort());
  process.on("SIGINT", onSigint);
  try {
    const result = await runSft({ config: loaded.config, rawConfig: loaded.snake, resume, signal: controller.signal, progress: process.stdout.isTTY });
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath}`);
    return controller.signal.aborted ? 130 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  });
}
