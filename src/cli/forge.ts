/**
 * `forge <app> [--config file.yaml] [overrides] [--resume]` — runs one of the apps:
 *   forge grpo --config apps/grpo/qwen3_1_7b.yaml training.learning_rate=3e-6
 *   forge sft  --config apps/sft/llama3_8b.yaml --training.steps 100
 *   forge serve --model /models/Qwen3-1.7B --port 8000   (OpenAI-compatible API; see apps/serve)
 */
import { runIfMain } from "../../apps/shared/cli.ts";

const APPS: Record<string, () => Promise<{ main: (argv: string[]) => Promise<number> }>> = {
  grpo: () => import("../../apps/grpo/main.ts"),
  sft: () => import("../../apps/sft/main.ts"),
  serve: () => import("../../apps/serve/main.ts"),
};

export const USAGE = `usage: forge <${Object.keys(APPS).join("|")}> [--config file.yaml] [key=value | --key value | ~key]... [--resume]`;

export async function main(argv: string[]): Promise<number> {
  const [app, ...rest] = argv;
  if (!app || app === "--help" || app === "-h") {
    console.log(USAGE);
    return app ? 0 : 2;
  }
  const load = APPS[app];
  if (!load) {
    console.error(`forge: unknown app '${app}'\n${USAGE}`);
    return 2;
  }
  return (await load()).main(rest);
}

runIfMain(import.meta.url, main);
