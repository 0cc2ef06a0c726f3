/**
 * What both apps' command lines share: `--config` + overrides + `--resume`, config errors as
 * exit code 2 with the message, and Ctrl-C as a clean stop (a second Ctrl-C quits at once).
 * Running `main` when the file is executed directly is `runIfMain` in `src/util` (the `forge` CLI
 * uses it too, and the library must not import apps/).
 */
import { ConfigError, extractConfigPath, type LoadConfigOptions } from "../../src/config/index.ts";
import { resolveShipped } from "../../src/util/package-root.ts";
import { beginShutdown } from "../../src/actors/process-registry.ts";

export interface ParsedCommandLine<L> {
  loaded: L;
  /** `--resume` (a checkpoint must exist) → true; `--resume=auto` (resume if one exists) → "auto". */
  resume: boolean | "auto";
}

/**
 * Loads the config named on the command line (or `defaultPath`); null after printing a config
 * error. A relative `--config` missing from the working directory is looked up in the package
 * (`forge grpo --config apps/grpo/qwen3_1_7b.yaml` from an installed package).
 */
export function parseCommandLine<L>(argv: string[], defaultPath: string, load: (o: LoadConfigOptions) => L): ParsedCommandLine<L> | null {
  const { configPath, rest } = extractConfigPath(argv);
  try {
    return {
      loaded: load({
        path: configPath !== undefined ? resolveShipped(configPath) : defaultPath,
        overrides: rest.filter((a) => a !== "--resume" && a !== "--resume=auto"),
      }),
      resume: rest.includes("--resume") ? true : rest.includes("--resume=auto") ? "auto" : false,
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config error: ${err.message}`);
      return null;
    }
    throw err;
  }
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
