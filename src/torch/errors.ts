/**
 * Errors raised by the tensor engine. libtorch's own failures (shape mismatch, dtype, device,
 * use after dispose) arrive as `TorchError` carrying libtorch's message; a wrong argument type
 * from JavaScript is a plain `TypeError` naming the argument.
 */
export class TorchError extends Error {
  override name = "TorchError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A safetensors file or index that does not follow the format. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
  }
}
