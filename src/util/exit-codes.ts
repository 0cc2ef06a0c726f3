/**
 * Exit codes of `forge` and the apps, one per error class (README "Exit codes" lists the same):
 * a script can tell "fix the command line" from "fix the config" from "a file is missing" from
 * "the run itself failed" without parsing messages.
 */
export const EXIT_CODES = {
  /** The run finished. */
  ok: 0,
  /** The run started and failed (NaN loss, a dead actor, an unexpected exception). */
  runtime: 1,
  /** The command line is malformed: unknown app, bad override syntax, bad flag. */
  usage: 2,
  /** The config is invalid: unknown key, wrong type or range, a value the run cannot use. */
  config: 3,
  /** Something the config names cannot be loaded: model, tokenizer, dataset, checkpoint file. */
  load: 4,
  /** Stopped by Ctrl-C / SIGINT (128 + 2). */
  interrupted: 130,
} as const;

export type ErrorClass = "usage" | "config" | "load" | "runtime";
