import { describeValue as describe } from "../util/describe-value.ts";

/** Base class of every error thrown by `src/rewards`, so callers can catch the family. */
export class RewardError extends Error {
  override name = "RewardError";
}

/** An option passed to a reward constructor or `RewardSet` is invalid. */
export class RewardOptionError extends RewardError {
  override name = "RewardOptionError";
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`reward option '${option}' must be ${expected}, got ${describe(received)}`);
  }
}

/** A reward was called without an input it needs (e.g. the response's token count). */
export class RewardInputError extends RewardError {
  override name = "RewardInputError";
  constructor(
    readonly field: string,
    readonly reward: string,
    hint: string,
  ) {
    super(`${reward} needs '${field}': ${hint}`);
  }
}

/** A reward function did not settle within the `RewardSet` timeout. */
export class RewardTimeoutError extends RewardError {
  override name = "RewardTimeoutError";
  constructor(
    readonly reward: string,
    readonly timeoutMs: number,
  ) {
    super(`reward '${reward}' took longer than timeoutMs=${timeoutMs}`);
  }
}

export { describe };
