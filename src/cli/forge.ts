/**
 * `forge <app> [--config file.yaml] [overrides] [--resume]` — runs one of the apps:
 *   forge grpo --config apps/grpo/qwen3_1_7b.yaml training.learning_rate=3e-6
 *   forge sft  --config apps/sft/llama3_8b.yaml --training.steps 100
 *   forge serve --model /models/Qwen3-1.7B --port 8000   (OpenAI-compatible API; see apps/serve)
 *   forge export --model runs/sft/model --out model.gguf --type q8_0 --ollama   (GGUF for llama.cpp / Ollama)
 */
import { siblingModule } from "../util/package-root.ts";
import { runIfMain } from "../util/run-if-main.ts";

/**
 * Entry point of each app, as a path relative to this file, loaded by URL when the app is asked
 * for. The apps sit above the library; naming them here instead of importing them keeps src/
 * free of static imports of apps/ (the import-graph test holds src/cli below apps/). Written as
 * `.ts`; from dist/ the compiled `.js` next to this compiled file is loaded instead.
 */
const APPS: Record<string, string> = {
  grpo: "../../apps/grpo/main.ts",
  sft: "../../apps/sft/main.ts",
  serve: "../../apps/serve/main.ts",
  export: "../../apps/export/main.ts",
};

export const USAGE = `usage: forge <${Object.keys(APPS).join("|")}> [--config file.yaml] [key=value | --key value | ~key]... [--resume]`;

/** What an app's entry module exports. */
interface AppEntry {
  main: (argv: string[]) => Promise<number>;
}

async function loadApp(name: string, path: string): Promise<AppEntry> {
  const mod = (await import(siblingModule(path, import.meta.url).href)) as Partial<AppEntry>;
  if (typeof mod.main !== "function") throw new TypeError(`forge: app '${name}' (${path}) must export main(argv): Promise<number>`);
  return mod as AppEntry;
}

export async function main(argv: string[]): Promise<number> {
  const [app, ...rest] = argv;
  if (!app || app === "--help" || app === "-h") {
    console.log(USAGE);
    return app ? 0 : 2;
  }
  const path = Object.hasOwn(APPS, app) ? APPS[app] : undefined;
  if (path === undefined) {
    console.error(`forge: unknown app '${app}'\n${USAGE}`);
    return 2;
  }
  return (await loadApp(app, path)).main(rest);
}

runIfMain(import.meta.url, main);
