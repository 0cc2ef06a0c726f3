/**
 * Config errors: one class per failure mode, each naming the file / dotted path at fault and
 * what was expected, so a user can fix the YAML or the command line without reading code.
 */

/** Base class: catch this to handle any config problem. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The config file is missing, unreadable, or not valid YAML. */
export class ConfigFileError extends ConfigError {
  override name = "ConfigFileError";
  readonly path: string;
  /** 1-based line of a YAML syntax error, when known. */
  readonly line: number | undefined;
  constructor(opts: { path: string; reason: string; line?: number; cause?: unknown }) {
    const where = opts.line === undefined ? opts.path : `${opts.path}:${opts.line}`;
    super(`config file ${where}: ${opts.reason}`, { cause: opts.cause });
    this.path = opts.path;
    this.line = opts.line;
  }
}

/** A command-line override is malformed (no `=`, no value, bad key, unparsable value). */
export class ConfigOverrideError extends ConfigError {
  override name = "ConfigOverrideError";
  readonly override: string;
  constructor(opts: { override: string; reason: string; cause?: unknown }) {
    super(`bad config override ${JSON.stringify(opts.override)}: ${opts.reason}`, { cause: opts.cause });
    this.override = opts.override;
  }
}

/** A `${...}` reference is unknown, cyclic or malformed. */
export class ConfigInterpolationError extends ConfigError {
  override name = "ConfigInterpolationError";
  /** Dotted path of the value holding the bad reference. */
  readonly path: string;
  constructor(opts: { path: string; reason: string }) {
    super(`interpolation at ${opts.path || "<root>"}: ${opts.reason}`);
    this.path = opts.path;
  }
}

/** One schema violation, in terms a user can act on. */
export interface ConfigIssue {
  /** Dotted path in the YAML (`training.learning_rate`, `services.ref_model.procs`). */
  path: string;
  /** What went wrong, e.g. `expected number, got string "abc"`. */
  message: string;
  /** Nearest valid key, for an unknown key that looks like a typo. */
  suggestion?: string;
}

/** The resolved config does not match its schema (unknown key, wrong type, out of range...). */
export class ConfigValidationError extends ConfigError {
  override name = "ConfigValidationError";
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const lines = issues.map(
      (i) => `  ${i.path || "<root>"}: ${i.message}${i.suggestion ? ` (did you mean "${i.suggestion}"?)` : ""}`,
    );
    super(`invalid config (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.issues = issues;
  }
}
