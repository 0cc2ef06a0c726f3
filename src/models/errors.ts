/** Errors raised while configuring, loading or saving a language model. */

/** `<source>: <label> '<field>' must be <expected>; got <value>` (or "it is missing"). */
function fieldMessage(label: string, field: string, value: unknown, expected: string, source: string | undefined): string {
  const where = source ? `${source}: ` : "";
  const got = value === undefined ? "it is missing" : `got ${JSON.stringify(value)}`;
  return `${where}${label} '${field}' must be ${expected}; ${got}`;
}

/** A `config.json` field whose value this implementation does not support (or that is missing). */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
  constructor(
    /** The config field, as spelled in config.json (e.g. `rope_scaling.rope_type`). */
    readonly field: string,
    /** The offending value (undefined when missing). */
    readonly value: unknown,
    /** What would have been accepted. */
    readonly expected: string,
    options?: { source?: string; cause?: unknown },
  ) {
    super(fieldMessage("config field", field, value, expected, options?.source), { cause: options?.cause });
  }
}

/** A model directory or checkpoint that cannot be loaded (missing/corrupt files, wrong tensors). */
export class ModelLoadError extends Error {
  override name = "ModelLoadError";
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
  }
}

/** A LoRA setting (or a PEFT `adapter_config.json` field) that is invalid or unsupported. */
export class LoraConfigError extends Error {
  override name = "LoraConfigError";
  constructor(
    /** The setting, as spelled where it came from (`r`, `target_modules`, ...). */
    readonly field: string,
    readonly value: unknown,
    /** What would have been accepted. */
    readonly expected: string,
    options?: { source?: string; cause?: unknown },
  ) {
    super(fieldMessage("LoRA", field, value, expected, options?.source), { cause: options?.cause });
  }
}
