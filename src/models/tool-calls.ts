/**
 * Tool calls in generated text, for the chat-template families we ship:
 *
 * - `hermes` (Qwen2.5, Qwen3, most Hermes-style templates): one or more
 *   `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` blocks inside the reply.
 * - `llama3-json` (Llama 3.1/3.2/3.3): the whole reply is a JSON object
 *   `{"name": ..., "parameters": {...}}` (or `"arguments"`), optionally after `<|python_tag|>`;
 *   several calls may be separated by `;`.
 *
 * Parsing never throws: a block that is not a valid call is reported in `errors` and its raw
 * text stays in `content` (as vLLM's parsers do), so a client still sees what the model wrote
 * and an environment can tell the model what was wrong.
 *
 * `toTemplateMessages` turns OpenAI-shaped messages (arguments as a JSON string, content possibly
 * null) into what Hugging Face templates expect (arguments as an object, content a string).
 */
import type { ChatMessage } from "./tokenizer.ts";

export type ToolCallFormat = "hermes" | "llama3-json";

/** OpenAI's tool call shape; `arguments` is a JSON string. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** OpenAI's tool declaration; `parameters` is a JSON schema. */
export interface ToolSpec {
  type: "function";
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ToolCallParseError {
  /** The text of the attempted call, as generated. */
  raw: string;
  message: string;
}

export interface ParsedAssistantText {
  /** Text outside the tool calls, trimmed (malformed calls stay in it verbatim). */
  content: string;
  toolCalls: ToolCall[];
  errors: ToolCallParseError[];
}

export interface ParseToolCallsOptions {
  /** Tool call ids are `${idPrefix}_${index}`. @default "call" */
  idPrefix?: string;
}

export const HERMES_OPEN = "<tool_call>";
export const HERMES_CLOSE = "</tool_call>";
export const LLAMA_PYTHON_TAG = "<|python_tag|>";

/** hermes for templates containing `<tool_call>`; llama3-json for Llama 3.1-style templates; default hermes. */
export function detectToolCallFormat(chatTemplate: string | undefined): ToolCallFormat {
  if (!chatTemplate) return "hermes";
  if (chatTemplate.includes(HERMES_OPEN)) return "hermes";
  // Llama 3.1's template introduces built-in tools with <|python_tag|> and asks for
  // {"name": function name, "parameters": dictionary of argument name and its value}.
  if (chatTemplate.includes(LLAMA_PYTHON_TAG) || /"parameters":\s*dictionary/.test(chatTemplate)) return "llama3-json";
  return "hermes";
}

/** Splits generated assistant text into content and tool calls; malformed calls go to `errors`, never throw. */
export function parseToolCalls(text: string, format: ToolCallFormat, options: ParseToolCallsOptions = {}): ParsedAssistantText {
  const prefix = options.idPrefix ?? "call";
  if (typeof text !== "string") return { content: "", toolCalls: [], errors: [{ raw: String(text), message: "assistant text is not a string" }] };
  return format === "llama3-json" ? parseLlama3(text, prefix) : parseHermes(text, prefix);
}

function parseHermes(text: string, prefix: string): ParsedAssistantText {
  const toolCalls: ToolCall[] = [];
  const errors: ToolCallParseError[] = [];
  let content = "";
  let at = 0;
  for (;;) {
    const open = text.indexOf(HERMES_OPEN, at);
    if (open < 0) break;
    content += text.slice(at, open);
    const bodyStart = open + HERMES_OPEN.length;
    const close = text.indexOf(HERMES_CLOSE, bodyStart);
    // An unclosed block at the end (the model stopped or was cut off) is still tried.
    const bodyEnd = close < 0 ? text.length : close;
    const end = close < 0 ? text.length : close + HERMES_CLOSE.length;
    const raw = text.slice(open, end);
    const call = toCall(text.slice(bodyStart, bodyEnd), ["arguments", "parameters"]);
    if (typeof call === "string") {
      errors.push({ raw, message: close < 0 ? `${call} (the block has no closing ${HERMES_CLOSE})` : call });
      content += raw;
    } else {
      toolCalls.push({ id: `${prefix}_${toolCalls.length}`, type: "function", function: call });
    }
    at = end;
  }
  content += text.slice(at);
  return { content: content.trim(), toolCalls, errors };
}

function parseLlama3(text: string, prefix: string): ParsedAssistantText {
  const trimmed = text.trim();
  const tagged = trimmed.startsWith(LLAMA_PYTHON_TAG);
  const body = tagged ? trimmed.slice(LLAMA_PYTHON_TAG.length).trim() : trimmed;
  // Plain text, or JSON that does not look like a call (an answer in JSON), is content.
  const looksLikeCall = tagged || /^\{\s*"(name|function)"/.test(body);
  if (!looksLikeCall) return { content: trimmed, toolCalls: [], errors: [] };
  const objects = splitJsonObjects(body);
  if (typeof objects === "string") return { content: trimmed, toolCalls: [], errors: [{ raw: trimmed, message: objects }] };
  const toolCalls: ToolCall[] = [];
  for (const obj of objects) {
    const call = toCall(obj, ["parameters", "arguments"]);
    if (typeof call === "string") return { content: trimmed, toolCalls: [], errors: [{ raw: trimmed, message: call }] };
    toolCalls.push({ id: `${prefix}_${toolCalls.length}`, type: "function", function: call });
  }
  return { content: "", toolCalls, errors: [] };
}

/** `{...}; {...}` → the object texts, or a message saying why not. */
function splitJsonObjects(body: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /[\s;]/.test(body[i]!)) i++;
    if (i >= body.length) break;
    if (body[i] !== "{") return `expected a JSON object at offset ${i}, found ${JSON.stringify(body.slice(i, i + 20))}`;
    const end = matchBrace(body, i);
    if (end < 0) return "unterminated JSON object";
    out.push(body.slice(i, end + 1));
    i = end + 1;
  }
  return out.length ? out : "empty tool call";
}

/** Index of the `}` closing the `{` at `start` (strings and escapes respected), or -1. */
function matchBrace(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/** A JSON call body → `{ name, arguments }` (arguments re-serialised compactly), or an error message. */
function toCall(body: string, argKeys: readonly string[]): { name: string; arguments: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(body.trim());
  } catch (err) {
    return `tool call is not valid JSON: ${(err as Error).message}`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "tool call must be a JSON object with \"name\" and \"arguments\"";
  const obj = value as Record<string, unknown>;
  // Some models nest OpenAI's shape: {"function": {"name", "arguments"}}.
  const fn = typeof obj.function === "object" && obj.function !== null && obj.name === undefined ? (obj.function as Record<string, unknown>) : obj;
  if (typeof fn.name !== "string" || fn.name.trim() === "") return "tool call needs a non-empty string \"name\"";
  const key = argKeys.find((k) => fn[k] !== undefined);
  let args: unknown = key === undefined ? {} : fn[key];
  if (typeof args === "string") {
    // Arguments given as a JSON string (OpenAI style) are accepted when they hold an object.
    try {
      args = JSON.parse(args);
    } catch {
      return `tool call "${fn.name}": "${key}" is a string that is not JSON`;
    }
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return `tool call "${fn.name}": "${key ?? "arguments"}" must be a JSON object`;
  return { name: fn.name, arguments: JSON.stringify(args) };
}

/**
 * Messages as chat templates expect them: `content` always a string (null → ""), and each
 * assistant `tool_calls[i].function.arguments` JSON string parsed to an object (templates do
 * `arguments | tojson`). Arguments that are not a JSON object are passed through unchanged.
 * The input is not modified.
 */
export function toTemplateMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    const out: ChatMessage = { ...m, content: typeof m.content === "string" ? m.content : m.content == null ? "" : String(m.content) };
    if (Array.isArray(m.tool_calls)) {
      out.tool_calls = m.tool_calls.map((tc: unknown) => {
        if (typeof tc !== "object" || tc === null) return tc;
        const call = tc as { function?: { name?: unknown; arguments?: unknown } };
        if (!call.function || typeof call.function.arguments !== "string") return tc;
        let args: unknown = call.function.arguments;
        try {
          const parsed: unknown = JSON.parse(call.function.arguments);
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) args = parsed;
        } catch {
          // Not JSON: left as the string the client sent.
        }
        return { ...call, function: { ...call.function, arguments: args } };
      });
    }
    return out;
  });
}
