/**
 * Errors of src/envs. They are for programming mistakes (a bad tool definition, `step` before
 * `reset`); anything the *model* gets wrong becomes a message to the model instead.
 */
import { describeValue } from "../util/describe-value.ts";

export class EnvError extends Error {
  override name = "EnvError";
}

/** An option of a tool or environment is invalid. */
export class EnvOptionError extends EnvError {
  override name = "EnvOptionError";
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`environment option '${option}' must be ${expected}, got ${describeValue(received)}`);
  }
}

/** `step` called before `reset` or after the episode ended. */
export class EnvStateError extends EnvError {
  override name = "EnvStateError";
}
