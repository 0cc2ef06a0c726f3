/** Raised when a tokenizer directory or its files cannot be used; names the file at fault. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
  /** The file or directory at fault, when there is one. */
  readonly path: string | undefined;
  constructor(message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(opts.path ? `${opts.path}: ${message}` : message, { cause: opts.cause });
    this.path = opts.path;
  }
}
