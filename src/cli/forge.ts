/**
 * `forge <app> [--config file.yaml] [overrides] [--resume]` — runs one of the apps:
 *   forge grpo --config apps/grpo/qwen3_1_7b.yaml training.learning_rate=3e-6
 *   forge sft  --config apps/sft/llama3_8b.yaml --training.steps 100
 *   forge serve --model /models/Qwen3-1.7B --port 8000   (OpenAI-compatible API; see apps/serve)
 *   forge clean [--dir /dev/shm]   removes shared-memory stores left by runs that died
 */
import { siblingModule } from "../util/package-root.ts";
import { runIfMain } from "../util/run-if-main.ts";
import { watchParent } from "../util/parent-watchdog.ts";
import { sweepDeadStores } from "../store/shm-owner.ts";

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
};

export const USAGE =
  `usage: forge <${Object.keys(APPS).join("|")}> [--config file.yaml] [key=value | --key value | ~key]... [--resume]\n` +
  "       forge clean [--dir /dev/shm]   (remove shared-memory stores of runs that are gone)";

/** `forge clean`: reclaims the shared-memory stores of dead runs (never a running one's). */
function clean(argv: string[]): number {
  const at = argv.indexOf("--dir");
  const dir = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && dir === undefined) {
    console.error("forge clean: --dir needs a directory");
    return 2;
  }
  const { removed, kept } = sweepDeadStores({ dir, unowned: true });
  for (const path of removed) console.log(`removed ${path}`);
  for (const { path, reason } of kept) console.log(`kept ${path}: ${reason}`);
  if (removed.length === 0) console.log("nothing to remove");
  return 0;
}

/**
 * Started by bin/forge.ts (which names itself in TORCHFORGE_WRAPPER_PID): if that wrapper dies
 * without passing a signal on (SIGKILL), stop as on SIGTERM — checkpoint, stop the actors — and
 * quit for good if that takes longer than the stop timeout.
 */
function watchWrapper(): void {
  const wrapper = Number(process.env.TORCHFORGE_WRAPPER_PID);
  delete process.env.TORCHFORGE_WRAPPER_PID; // not for the actor processes: they watch us
  if (Number.isInteger(wrapper) && wrapper > 0) watchParent({ parentPid: wrapper, signal: "SIGTERM", graceMs: 40_000 });
}

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
  watchWrapper();
  if (app === "clean") return clean(rest);
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
