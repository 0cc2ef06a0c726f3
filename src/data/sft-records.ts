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
  /** Assistant tool calls (OpenAI `{id, type, function: {name, arguments}}` or HF `{name, arguments}`), rendered by the template. */
  tool_calls?: unknown[];
  /** Tool messages: the call they answer, and the tool's name. */
  tool_call_id?: string;
  name?: string;
}

export interface ChatRecord {
  messages: ChatMessage[];
  /** Tool schemas for the chat template's `tools` (HF datasets carry them per record). */
  tools?: unknown[];
}

export type SftRecord = PromptResponseRecord | ChatRecord;

const ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];

export function isChatRecord(record: SftRecord): record is ChatRecord {
  return "messages" in record;
}

/**
 * Checks that `value` is one of the two SFT shapes and returns it typed (extra fields dropped;
 * kept: assistant `tool_calls`, tool `tool_call_id`/`name`, the record's `tools`).
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
      const { role, content, tool_calls, tool_call_id, name } = m as Record<string, unknown>;
      if (!ROLES.includes(role as ChatRole)) throw new DatasetFieldError(source, `${field}.role`, `one of ${ROLES.join(", ")}`, role);
      const hasCalls = tool_calls !== undefined && tool_calls !== null;
      if (hasCalls && (role !== "assistant" || !Array.isArray(tool_calls))) {
        throw new DatasetFieldError(source, `${field}.tool_calls`, "an array, on assistant messages only", tool_calls);
      }
      // OpenAI writes `content: null` on an assistant message that only calls tools.
      if (typeof content !== "string" && !(content === null && hasCalls)) throw new DatasetFieldError(source, `${field}.content`, "a string", content);
      const message: ChatMessage = { role: role as ChatRole, content: content ?? "" };
      if (hasCalls) message.tool_calls = tool_calls as unknown[];
      if (role === "tool" && typeof tool_call_id === "string") message.tool_call_id = tool_call_id;
      if (role === "tool" && typeof name === "string") message.name = name;
      return message;
    });
    if (!messages.some((m) => m.role === "assistant")) {
      throw new DatasetFieldError(source, "messages", "at least one assistant message (the tokens trained on)", "none");
    }
    if (v.tools !== undefined && v.tools !== null && !Array.isArray(v.tools)) throw new DatasetFieldError(source, "tools", "an array of tool schemas", v.tools);
    return Array.isArray(v.tools) ? { messages, tools: v.tools } : { messages };
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
  return isChatRecord(record) && record.tools ? { messages, tools: record.tools } : { messages };
}

/** Streams validated SFT records from a JSONL file; errors name the file and line. */
export async function* readSftJsonl(file: string): AsyncGenerator<SftRecord> {
  for await (const record of readJsonl(file)) yield parseSftRecord(record.value, `${record.file}:${record.line}`);
}
