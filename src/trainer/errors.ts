/** Errors thrown by `src/trainer`. One class per failure mode; each names the field and what was expected. */

/** Base class of every trainer error, so callers can catch the family. */
export class TrainerError extends Error {
  override name = "TrainerError";
}

/** An option passed to the trainer or a checkpoint function is invalid. */
export class TrainerOptionError extends TrainerError {
  override name = "TrainerOptionError";
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`trainer option '${option}' must be ${expected}; got ${describe(received)}`);
  }
}

/** `maxBadSteps` steps in a row had a NaN/inf loss or gradient norm: training is diverging. */
export class NonFiniteLossError extends TrainerError {
  override name = "NonFiniteLossError";
  constructor(
    readonly badSteps: number,
    readonly step: number,
    readonly lastReason: string,
  ) {
    super(
      `${badSteps} train steps in a row were skipped (last at step ${step}: ${lastReason}); aborting. ` +
        `Lower the learning rate, check the data for empty masks or extreme advantages, or raise 'maxBadSteps'.`,
    );
  }
}

/** A checkpoint cannot be written, found or read. */
export class CheckpointError extends TrainerError {
  override name = "CheckpointError";
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint ${path}: ${detail}`, options);
  }
}

export function describe(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "number" || typeof x === "boolean" || x === undefined || x === null) return String(x);
  if (Array.isArray(x)) return `[${x.map(describe).join(", ")}]`;
  try {
    return JSON.stringify(x) ?? typeof x;
  } catch {
    return typeof x;
  }
}
