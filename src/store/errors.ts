/** Errors of the weight store: each names the key or argument at fault and what was expected. */

export class StoreError extends Error {
  override name = "StoreError";
}

/** `get`/`delete`/`handle` of a key that is not (or no longer) published. */
export class UnknownKeyError extends StoreError {
  override name = "UnknownKeyError";
  constructor(readonly key: string, detail = "") {
    super(`store has no key '${key}'${detail ? ` (${detail})` : ""}; list published keys with keys(prefix)`);
  }
}

/**
 * The data a manifest names was replaced (or removed) before or while it was read: the key was
 * published again or deleted. Read the key's current manifest and try again.
 */
export class StaleManifestError extends StoreError {
  override name = "StaleManifestError";
  constructor(readonly key: string, readonly path: string) {
    super(`the data of '${key}' at ${path} was replaced or removed while reading; read the key's current manifest and try again`);
  }
}

/** A bad argument: names the argument and says what it must be. */
export class StoreArgumentError extends StoreError {
  override name = "StoreArgumentError";
  constructor(readonly argument: string, expectation: string, got?: unknown) {
    super(`argument '${argument}' ${expectation}${got === undefined ? "" : `; got ${describe(got)}`}`);
  }
}

/** `get(key, { into })` where `into` does not match the stored tensors. */
export class IntoMismatchError extends StoreError {
  override name = "IntoMismatchError";
  constructor(readonly key: string, readonly field: string, expected: string, got: string) {
    super(`get('${key}', { into }): ${field} must be ${expected} to receive the stored tensor; got ${got}`);
  }
}

/** A chunk or tensor whose CRC32 does not match the one sent with it. */
export class ChecksumError extends StoreError {
  override name = "ChecksumError";
  constructor(readonly key: string, message: string) {
    super(message);
  }
  static mismatch(key: string, where: string, expected: number, got: number): ChecksumError {
    return new ChecksumError(key, `checksum mismatch for '${key}' at ${where}: expected crc32 ${hex(expected)}, computed ${hex(got)}; the data was corrupted in transit`);
  }
}

/** The TCP peer closed, timed out or answered out of protocol. */
export class StoreConnectionError extends StoreError {
  override name = "StoreConnectionError";
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

function describe(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (x === null || typeof x !== "object") return String(x);
  return x.constructor?.name ?? "object";
}
