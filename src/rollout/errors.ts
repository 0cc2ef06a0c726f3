/** Errors thrown by `src/rollout`. Each names the field or part at fault and what was expected. */

/** Base class of rollout errors: a bad option, a template that cannot be rendered as deltas, a broken environment. */
export class RolloutError extends Error {
  override name = "RolloutError";
  constructor(
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${field} ${detail}`, options);
  }
}

/** An environment's `reset`/`step`/`close`, or an agent function, threw or returned something malformed. */
export class EnvironmentError extends RolloutError {
  override name = "EnvironmentError";
}
