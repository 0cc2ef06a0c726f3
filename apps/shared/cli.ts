/**
 * What both apps' command lines share: `--config` + overrides + `--resume`, config errors as
 * exit code 2 with the message, and Ctrl-C as a clean stop (a second Ctrl-C quits at once).
 * Running `main` when the file is executed directly is `runIfMain` in `src/util` (the `forge` CLI
 * uses it too, and the library must not import apps/).
 */
import { ConfigError, extractConfigPath, type LoadConfigOptions } from "../../src/config/index.ts";
import { resolveShipped } from "../../src/util/package-root.ts";

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

/** Runs `fn` with an AbortSignal that the first Ctrl-C aborts. */
export async function withCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>, message?: string): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    if (message) console.log(`\n${message}`);
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}
