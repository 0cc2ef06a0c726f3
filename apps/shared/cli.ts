/**
 * What both apps' command lines share: `--config` + overrides + `--resume`, `--help` generated
 * from the config schema, one error style and exit code per error class (`runCli`), and Ctrl-C
 * as a clean stop (a second Ctrl-C quits at once).
 * Running `main` when the file is executed directly is `runIfMain` in `src/util` (the `forge` CLI
 * uses it too, and the library must not import apps/).
 */
import type { z } from "zod";
import { ConfigError, ConfigOverrideError, extractConfigPath, type LoadConfigOptions } from "../../src/config/index.ts";
import { formatConfigHelp } from "../../src/config/help.ts";
import { DataError, DataOptionError } from "../../src/data/errors.ts";
import { EnvOptionError } from "../../src/envs/errors.ts";
import { ModelConfigError, ModelLoadError } from "../../src/models/errors.ts";
import { TokenizerError } from "../../src/models/tokenizer/tokenizer-error.ts";
import { RewardOptionError } from "../../src/rewards/errors.ts";
import { RLOptionError } from "../../src/rl/errors.ts";
import { CheckpointError, TrainerOptionError } from "../../src/trainer/errors.ts";
import { EXIT_CODES, type ErrorClass } from "../../src/util/exit-codes.ts";
import { resolveShipped } from "../../src/util/package-root.ts";
import { beginShutdown } from "../../src/actors/process-registry.ts";

/** `forge <app> --help`: usage, what the app does, every config key (from the schema), an example, exit codes. */
export function appHelp(o: { app: string; summary: string; schema: z.ZodType; defaultConfig: string; example: string }): string {
  return [
    `usage: forge ${o.app} [--config file.yaml] [key=value | --key value | ~key]... [--resume | --resume=auto]`,
    "",
    o.summary,
    "",
    `--config defaults to ${o.defaultConfig}. Overrides use the dotted YAML path (training.steps=20 or --training.steps 20);`,
    "~key removes a key or section. Config keys (type = default):",
    "",
    formatConfigHelp(o.schema),
    "",
    "example:",
    `  ${o.example}`,
    "",
    exitCodeHelp(),
  ].join("\n");
}

export function exitCodeHelp(): string {
  const c = EXIT_CODES;
  const classes = `${c.runtime} runtime error, ${c.usage} usage error, ${c.config} config error, ${c.load} load error`;
  return `exit codes: ${c.ok} done, ${classes}, ${c.interrupted} interrupted`;
}

/** True for `--help` / `-h` anywhere on the command line. */
export const wantsHelp = (argv: readonly string[]): boolean => argv.includes("--help") || argv.includes("-h");

const hasCode = (err: unknown, codes: string[]) => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && codes.includes(code);
};

/** Which class of error this is, and so which exit code it gets (see `EXIT_CODES`). */
export function classifyError(err: unknown): ErrorClass {
  if (err instanceof ConfigOverrideError || (err instanceof Error && err.name === "UsageError")) return "usage";
  if (err instanceof DataOptionError) return "config";
  const loadErrors = [ModelLoadError, TokenizerError, DataError, CheckpointError];
  if (loadErrors.some((C) => err instanceof C)) return "load";
  if (hasCode(err, ["ENOENT", "EACCES", "EISDIR", "ENOTDIR"])) return "load";
  // ModelNotFoundError (apps/shared/resolve-model.ts) and the like.
  if (err instanceof Error && /(NotFound|ModelDirectory)Error$/.test(err.name)) return "load";
  const configErrors = [ConfigError, ModelConfigError, RLOptionError, TrainerOptionError, RewardOptionError, EnvOptionError];
  if (configErrors.some((C) => err instanceof C)) return "config";
  // App-level config errors (apps/grpo's GrpoConfigError) sit above this folder: matched by name.
  if (err instanceof Error && /ConfigError$/.test(err.name)) return "config";
  return "runtime";
}

/** Prints `forge <app>: <class> error: <message>` to stderr and returns the class's exit code. */
export function reportError(app: string, err: unknown): number {
  const kind = classifyError(err);
  const message = err instanceof Error ? (kind === "runtime" ? `${err.name}: ${err.message}` : err.message) : String(err);
  console.error(`forge ${app}: ${kind === "runtime" ? "error" : `${kind} error`}: ${message}`);
  if (kind === "runtime" && process.env.TORCHFORGE_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
  return EXIT_CODES[kind];
}

/** Runs an app's body; any error it throws becomes one stderr line and its class's exit code. */
export async function runCli(app: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    return reportError(app, err);
  }
}

export interface ParsedCommandLine<L> {
  loaded: L;
  /** `--resume` (a checkpoint must exist) → true; `--resume=auto` (resume if one exists) → "auto". */
  resume: boolean | "auto";
}

/**
 * Loads the config named on the command line (or `defaultPath`); throws `ConfigError`s (run it
 * inside `runCli`). A relative `--config` missing from the working directory is looked up in the
 * package (`forge grpo --config apps/grpo/qwen3_1_7b.yaml` from an installed package).
 */
export function parseCommandLine<L>(argv: string[], defaultPath: string, load: (o: LoadConfigOptions) => L): ParsedCommandLine<L> {
  const { configPath, rest } = extractConfigPath(argv);
  return {
    loaded: load({
      path: configPath !== undefined ? resolveShipped(configPath) : defaultPath,
      overrides: rest.filter((a) => a !== "--resume" && a !== "--resume=auto"),
    }),
    resume: rest.includes("--resume") ? true : rest.includes("--resume=auto") ? "auto" : false,
  };
}

/** The signals that stop a run gracefully; `withCtrlC` aborts with an AbortError whose message is the one that came. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Exit code of a run stopped by `signal` (aborted with a signal name as its reason): 128 + the
 * signal's number, the shell's convention — 130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP.
 */
export function stopExitCode(signal: AbortSignal): number {
  const name = (signal.reason as Error | undefined)?.message;
  return name === "SIGTERM" ? 143 : name === "SIGHUP" ? 129 : 130;
}

/** Longest graceful stop before the process exits anyway (TORCHFORGE_STOP_TIMEOUT_MS overrides). */
const STOP_TIMEOUT_MS = 30_000;

/**
 * Runs `fn` with an AbortSignal that the first Ctrl-C (or SIGTERM/SIGHUP: a process manager, a
 * closed terminal) aborts: the app finishes or abandons the current step, writes a checkpoint and
 * stops its actors. The actor runtime is told at once that child exits are now expected, so no
 * replica is restarted while the run stops. A second signal exits at once (the exit handler kills
 * the actor processes); a graceful stop that hangs past the stop timeout exits too.
 */
export async function withCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>, message?: string): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // A rank gets Ctrl-C from the terminal and SIGTERM from its launcher: one stop, not two.
      // The launcher itself SIGKILLs its ranks on a second Ctrl-C.
      if (process.env.TORCHFORGE_LAUNCHER_PID) return;
      console.error(`\n${name} again: quitting now`);
      process.exit(stopExitCode(controller.signal));
    }
    beginShutdown();
    if (message) console.log(`\n${name === "SIGINT" ? "Ctrl-C" : name}: ${message}`);
    // An AbortError (what `signal.throwIfAborted()` throws, and the loops expect) named after the signal.
    controller.abort(new DOMException(name, "AbortError"));
    const timeoutMs = Number(process.env.TORCHFORGE_STOP_TIMEOUT_MS ?? STOP_TIMEOUT_MS);
    setTimeout(() => {
      console.error(`graceful stop took more than ${timeoutMs} ms; quitting now`);
      process.exit(stopExitCode(controller.signal));
    }, timeoutMs).unref();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
