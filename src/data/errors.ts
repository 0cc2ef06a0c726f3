import { describeValue as describe } from "../util/describe-value.ts";

/** Base class of every error thrown by `src/data`. */
export class DataError extends Error {
  override name = "DataError";
}

/** An option passed to a dataset, sampler or task is invalid. */
export class DataOptionError extends DataError {
  override name = "DataOptionError";
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`data option '${option}' must be ${expected}, got ${describe(received)}`);
  }
}

/** A JSONL line is not valid JSON. */
export class JsonlParseError extends DataError {
  override name = "JsonlParseError";
  constructor(
    readonly file: string,
    readonly line: number,
    cause: unknown,
  ) {
    super(`${file}:${line}: invalid JSON (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
}

/** A record lacks a field or has one of the wrong type. */
export class DatasetFieldError extends DataError {
  override name = "DatasetFieldError";
  constructor(
    readonly source: string,
    readonly field: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`${source}: field '${field}' must be ${expected}, got ${describe(received)}`);
  }
}

/** A dataset file or directory does not exist or has no usable files. */
export class DatasetNotFoundError extends DataError {
  override name = "DatasetNotFoundError";
  constructor(
    readonly path: string,
    hint: string,
  ) {
    super(`dataset not found at ${path}: ${hint}`);
  }
}

/**
 * One row of a dataset file is not what the field mapping expects. The message names the file,
 * where in it (`line` for JSONL, `row` for Parquet and JSON arrays, both 1-based), the field and
 * what was expected, e.g. `data/train.jsonl line 17: field "question" missing (have: q, a)`.
 */
export class DatasetRowError extends DataError {
  override name = "DatasetRowError";
  constructor(
    readonly file: string,
    readonly unit: "line" | "row",
    readonly row: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file} ${unit} ${row}: ${field === "" ? "" : `field "${field}" `}${problem}`);
  }
}

/** A sampler state does not fit the sampler it is loaded into. */
export class SamplerStateError extends DataError {
  override name = "SamplerStateError";
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`sampler state field '${field}' must be ${expected}, got ${describe(received)}`);
  }
}

export { describe };
