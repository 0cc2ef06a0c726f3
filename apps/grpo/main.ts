/**
 * `forge grpo` / `npx tsx apps/grpo/main.ts --config apps/grpo/default.yaml [overrides] [--resume]`
 *
 * Trains a language model with GRPO (or any configured policy loss). Overrides use either
 * spelling: `training.learning_rate=3e-6` or `--grpo.loss dapo`; `~services.ref_model` removes a
 * section. Ctrl-C writes a checkpoint and stops cleanly; `--resume` continues from it.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, extractConfigPath, loadGrpoConfig } from "../../src/config/index.ts";
import { runGrpo } from "./grpo-run.ts";

export const DEFAULT_GRPO_CONFIG = fileURLToPath(new URL("./default.yaml", import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const { configPath, rest } = extractConfigPath(argv);
  const resume = rest.includes("--resume");
  const overrides = rest.filter((a) => a !== "--resume");
  let loaded;
  try {
    loaded = loadGrpoConfig({ path: configPath ?? DEFAULT_GRPO_CONFIG, overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: give up at once
    console.log("\nCtrl-C: finishing the current step, writing a checkpoint, then stopping (Ctrl-C again to quit now)");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const result = await runGrpo({ config: loaded.config, rawConfig: loaded.snake, resume, signal: controller.signal, progress: process.stdout.isTTY });
    const first = result.evals[0]?.result.accuracy;
    const last = result.evals.at(-1)?.result.accuracy;
    if (first !== undefined && last !== undefined) {
      console.log(`held-out greedy accuracy: ${(first * 100).toFixed(1)}% → ${(last * 100).toFixed(1)}% over ${result.steps} steps`);
    }
    console.log(`checkpoints: ${result.checkpointDir}`);
    if (result.dashboardPath) console.log(`dashboard: ${result.dashboardPath} (open it in a browser; works offline)`);
    return result.stoppedEarly ? 130 : 0;
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
