/** Errors thrown by `src/rl`. One class per failure mode; each names the field and what was expected. */

/** Base class of every `src/rl` error, so callers can catch the family. */
export class RLError extends Error {
  override name = "RLError";
}

/** An option passed to a loss, advantage function, collator or replay buffer is invalid. */
export class RLOptionError extends RLError {
  override name = "RLOptionError";
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`option '${option}' must be ${expected}; got ${describe(received)}`);
  }
}

/** Two tensors that must line up do not (e.g. `logprobs` vs `paddingMask`). */
export class ShapeMismatchError extends RLError {
  override name = "ShapeMismatchError";
  constructor(
    readonly field: string,
    readonly shape: readonly number[],
    readonly expected: string,
  ) {
    super(`'${field}' has shape [${shape.join(", ")}] but must be ${expected}`);
  }
}

/** Episodes cannot be collated into a batch (missing data, lengths over the limit, ...). */
export class CollateError extends RLError {
  override name = "CollateError";
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`collate: '${field}' ${detail}`);
  }
}

/** A replay-buffer state dict does not match what `loadStateDict` expects. */
export class ReplayBufferStateError extends RLError {
  override name = "ReplayBufferStateError";
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`ReplayBuffer.loadStateDict: '${field}' ${detail}`);
  }
}

export function describe(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "number" || typeof x === "boolean" || x === undefined || x === null) return String(x);
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}
