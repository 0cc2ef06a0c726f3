/** Errors the server answers with OpenAI's error shape `{ error: { message, type, param, code } }`. */

export type OpenAiErrorType = "invalid_request_error" | "not_found_error" | "rate_limit_error" | "server_error" | "timeout_error";

export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; param: string | null; code: string | null };
}

/** An error with the HTTP status and OpenAI error fields it is answered with. */
export class ServeError extends Error {
  override name = "ServeError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 naming the offending field. */
export function badRequest(message: string, param: string | null = null, code: string | null = null): ServeError {
  return new ServeError(400, message, "invalid_request_error", param, code);
}

/** Backend errors that mean "your request was wrong" (by class name, so any layer's errors map). */
const CLIENT_ERRORS = new Set(["InvalidParameterError", "InvalidPromptError", "PromptTooLongError", "TokenizerError"]);

/** Engine sampling fields → the request fields they came from. */
const OPENAI_PARAM: Record<string, string> = { topP: "top_p", topK: "top_k", minP: "min_p", maxTokens: "max_tokens", logprobs: "top_logprobs", stopTokenIds: "stop_token_ids" };

/** Maps an error thrown while serving to the HTTP answer. */
export function toServeError(err: unknown): ServeError {
  if (err instanceof ServeError) return err;
  if (err instanceof Error && CLIENT_ERRORS.has(err.name)) {
    const field = (err as { field?: unknown }).field;
    return badRequest(err.message, typeof field === "string" ? (OPENAI_PARAM[field] ?? field) : null, err.name === "PromptTooLongError" ? "context_length_exceeded" : null);
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new ServeError(500, `internal error: ${message}`, "server_error");
}
