/**
 * `forge <app> [--config file.yaml] [overrides] [--resume]` — runs one of the apps:
 *   forge grpo --config apps/grpo/qwen3_1_7b.yaml training.learning_rate=3e-6
 *   forge sft  --config apps/sft/llama3_8b.yaml --training.steps 100
 *   forge serve --model /models/Qwen3-1.7B --port 8000   (OpenAI-compatible API; see apps/serve)
 *   forge launch --nproc-per-node 2 train.ts             (torchrun-style data-parallel ranks; see apps/launch)
 *   forge slurm --nodes 2 --nproc-per-node 4 sft --config my.yaml   (a Slurm job; see apps/slurm)
 *   forge export --model runs/sft/model --out model.gguf --type q8_0 --ollama   (GGUF for llama.cpp / Ollama)
 *   forge agent --nats nats://HOST:4222 --host NAME   (a host of multi-host runs; see apps/agent)
 * `forge --help` lists the apps and their config keys (generated from the schemas); `forge <app>
 * --help` documents every key. Exit codes: `EXIT_CODES` (src/util/exit-codes.ts, README).
 *   forge clean [--dir /dev/shm]   removes shared-memory stores left by runs that died
 */
import { formatConfigHelp } from "../config/help.ts";
import { grpoConfigSchema, sftConfigSchema } from "../config/index.ts";
import { EXIT_CODES } from "../util/exit-codes.ts";
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
  launch: "../../apps/launch/main.ts",
  slurm: "../../apps/slurm/main.ts",
  export: "../../apps/export/main.ts",
  agent: "../../apps/agent/main.ts",
};

const SUMMARIES: Record<string, string> = {
  grpo: "RL post-training with GRPO / DAPO / GSPO / CISPO / SAPO / REINFORCE / PPO-clip (grpo.loss)",
  sft: "supervised fine-tuning on chat or prompt/response JSONL",
  serve: "serve a model behind an OpenAI-compatible HTTP API (forge serve --help)",
  launch: "start N data-parallel ranks of a script or app, torchrun-style (forge launch --help)",
  slurm: "run an app or script as a Slurm job: sbatch script, one task per rank (forge slurm --help)",
  export: "write a model as GGUF for llama.cpp / Ollama, with a Modelfile (forge export --help)",
  agent: "make this machine a host of multi-host runs (forge agent --nats nats://HOST:4222 --host NAME)",
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

/** `forge --help`: the apps, each config section with its keys and defaults, examples, exit codes. */
export function forgeHelp(): string {
  const c = EXIT_CODES;
  return [
    USAGE,
    "",
    "apps:",
    ...Object.keys(APPS).map((a) => `  ${a.padEnd(6)} ${SUMMARIES[a] ?? ""}`),
    "",
    "forge grpo config sections (key=default; `forge grpo --help` describes each key):",
    formatConfigHelp(grpoConfigSchema, { brief: true }),
    "",
    "forge sft config sections (key=default; `forge sft --help` describes each key):",
    formatConfigHelp(sftConfigSchema, { brief: true }),
    "",
    "examples:",
    "  forge grpo --config apps/grpo/qwen3_1_7b.yaml grpo.loss=dapo --training.learning_rate 1e-6",
    "  forge sft --config apps/sft/llama3_8b.yaml model.path=/models/Llama-3.1-8B-Instruct dataset.path=chat.jsonl",
    "  forge serve --model /models/Qwen3-1.7B --port 8000",
    "  forge slurm --nodes 2 --nproc-per-node 4 --partition gpu --time 2:00:00 sft --config apps/sft/llama3_8b.yaml",
    "",
    `exit codes: ${c.ok} done, ${c.runtime} runtime error, ${c.usage} usage error, ${c.config} config error, ${c.load} load error, ${c.interrupted} interrupted`,
  ].join("\n");
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
  if (app === "--help" || app === "-h" || app === "help") {
    console.log(forgeHelp());
    return EXIT_CODES.ok;
  }
  if (!app) {
    console.error(`forge: usage error: no app given\n${USAGE}\n(forge --help lists the apps and their config keys)`);
    return EXIT_CODES.usage;
  }
  const path = Object.hasOwn(APPS, app) ? APPS[app] : undefined;
  if (path === undefined) {
    console.error(`forge: usage error: unknown app '${app}' (one of ${Object.keys(APPS).join(", ")})\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  try {
    return await (await loadApp(app, path)).main(rest);
  } catch (err) {
    // The apps report their own errors (apps/shared/cli.ts runCli); this catches what escapes one.
    console.error(`forge ${app}: error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return EXIT_CODES.runtime;
  }
}

runIfMain(import.meta.url, main);
