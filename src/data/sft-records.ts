/**
 * SFT record types and their validation. Two shapes are accepted: prompt/response pairs and
 * chat transcripts (`messages`, as in Hugging Face chat datasets). Tokenisation, loss masking
 * and packing need a tokenizer and tensors, so they live with the trainer, not here.
 */
import { DatasetFieldError } from "./errors.ts";
import { readJsonl } from "./jsonl.ts";

export interface PromptResponseRecord {
  prompt: string;
  response: string;
}

export type ChatRole = "system" | "user" | "assistant" | "tool";

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRecord {
  messages: ChatMessage[];
}

export type SftRecord = PromptResponseRecord | ChatRecord;

const ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];

export function isChatRecord(record: SftRecord): record is ChatRecord {
  return "messages" in record;
}

/**
 * Checks that `value` is one of the two SFT shapes and returns it typed (extra fields dropped).
 * `source` (e.g. `file:line`) prefixes error messages.
 */
export function parseSftRecord(value: unknown, source = "sft record"): SftRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DatasetFieldError(source, "(record)", "an object with 'messages' or 'prompt' and 'response'", value);
  }
  const v = value as Record<string, unknown>;
  if ("messages" in v) {
    if (!Array.isArray(v.messages) || v.messages.length === 0) {
      throw new DatasetFieldError(source, "messages", "a non-empty array of { role, content }", v.messages);
    }
    const messages = v.messages.map((m: unknown, i: number): ChatMessage => {
      const field = `messages[${i}]`;
      if (typeof m !== "object" || m === null) throw new DatasetFieldError(source, field, "an object { role, content }", m);
      const { role, content } = m as Record<string, unknown>;
      if (!ROLES.includes(role as ChatRole)) throw new DatasetFieldError(source, `${field}.role`, `one of ${ROLES.join(", ")}`, role);
      if (typeof content !== "string") throw new DatasetFieldError(source, `${field}.content`, "a string", content);
      return { role: role as ChatRole, content };
    });
    if (!messages.some((m) => m.role === "assistant")) {
      throw new DatasetFieldError(source, "messages", "at least one assistant message (the tokens trained on)", "none");
    }
    return { messages };
  }
  if (typeof v.prompt !== "string") throw new DatasetFieldError(source, "prompt", "a string", v.prompt);
  if (typeof v.response !== "string" || v.response === "") {
    throw new DatasetFieldError(source, "response", "a non-empty string", v.response);
  }
  return { prompt: v.prompt, response: v.response };
}

export interface ToChatOptions {
  /** System message to put first when the record has none. */
  systemPrompt?: string;
}

/** Prompt/response → `[system?, user, assistant]`; chat records pass through (system added if missing). */
export function toChatRecord(record: SftRecord, options: ToChatOptions = {}): ChatRecord {
  const messages: ChatMessage[] = isChatRecord(record)
    ? [...record.messages]
    : [
        { role: "user", content: record.prompt },
        { role: "assistant", content: record.response },
      ];
  if (options.systemPrompt !== undefined && messages[0]?.role !== "system") {
    messages.unshift({ role: "system", content: options.systemPrompt });
  }
  return { messages };
}

/** Streams validated SFT records from a JSONL file; errors name the file and line. */
export async function* readSftJsonl(file: string): AsyncGenerator<SftRecord> {
  for await (const record of readJsonl(file)) yield parseSftRecord(record.value, `${record.file}:${record.line}`);
}
