/**
 * Column mapping: a dataset row (any JSON object) → a GRPO `PromptExample` or an SFT record.
 * Fields are named by config (`prompt_field`, `answer_field`, ...) or found among common names;
 * a user transform may build the record instead. Every problem is a `DatasetRowError` naming
 * the file, line/row and field, and the fields the row does have.
 */
import { basename } from "node:path";
import { DatasetFieldError, DatasetRowError, describe } from "./errors.ts";
import type { PromptExample } from "./example.ts";
import { parseGsm8kAnswer } from "./gsm8k.ts";
import type { DataRow } from "./read-rows.ts";
import { parseSftRecord, type ChatMessage, type ChatRole, type SftRecord } from "./sft-records.ts";

/** Prompt fields tried in order when `promptField` is unset. */
export const PROMPT_FIELDS = ["prompt", "messages", "question", "problem"] as const;
/** Answer fields tried in order when `answerField` is unset. */
export const ANSWER_FIELDS = ["answer", "target", "ground_truth"] as const;

/**
 * How the answer text becomes the target: `gsm8k` takes the number after `####`, `boxed` the
 * last `\boxed{…}`, `raw` the text trimmed; `auto` picks `gsm8k` or `boxed` when the text has
 * that marker, else `raw`.
 */
export type AnswerFormat = "auto" | "raw" | "gsm8k" | "boxed";

/** A user function building the record from a raw row; `null`/`undefined` skips the row. */
export type RowTransform = (row: Record<string, unknown>, info: { file: string; row: number; split: string }) => unknown;

export interface PromptMapping {
  /** Field with the prompt: a string, or an OpenAI-style `messages` list. Unset: the first of {@link PROMPT_FIELDS}. */
  promptField?: string;
  /** Field with the reference answer (string or number). Unset: the first of {@link ANSWER_FIELDS}. */
  answerField?: string;
  /** @default "auto" */
  answerFormat?: AnswerFormat;
  /** Builds `{ prompt | messages, answer, id? }` from the row instead of the fields above. */
  transform?: RowTransform;
  /** How errors name the transform (e.g. its module path). @default "transform" */
  transformName?: string;
}

const ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];

/** Thrown-with-location helper: `file line N: field "x" <problem>`. */
function rowError(row: DataRow, field: string, problem: string): DatasetRowError {
  return new DatasetRowError(row.file, row.unit, row.row, field, problem);
}

function fieldsOf(obj: Record<string, unknown>): string {
  return Object.keys(obj).join(", ") || "none";
}

function asRecord(row: DataRow, value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw rowError(row, "", `${what} must be an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** The raw row, or the transform's result for it (`null` when the transform skips the row). */
async function source(row: DataRow, split: string, mapping: { transform?: RowTransform; transformName?: string }): Promise<Record<string, unknown> | null> {
  const value = asRecord(row, row.value, "the record");
  if (!mapping.transform) return value;
  let out: unknown;
  try {
    out = await mapping.transform(value, { file: row.file, row: row.row, split });
  } catch (error) {
    throw new DatasetRowError(row.file, row.unit, row.row, "", `${mapping.transformName ?? "transform"} threw: ${(error as Error)?.message ?? String(error)}`);
  }
  if (out === null || out === undefined) return null;
  return asRecord(row, out, `the result of ${mapping.transformName ?? "transform"}`);
}

function missing(row: DataRow, obj: Record<string, unknown>, field: string, fromTransform: string | undefined, hint = ""): DatasetRowError {
  const where = fromTransform ? ` from the result of ${fromTransform}` : "";
  return rowError(row, field, `missing${where} (have: ${fieldsOf(obj)})${hint}`);
}

/** Validates a prompt `messages` list (OpenAI chat shape) ending in a user or tool turn. */
export function parsePromptMessages(row: DataRow, field: string, value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw rowError(row, field, `must be a non-empty list of { role, content } messages, got ${describe(value)}`);
  const messages = value.map((m: unknown, i: number): ChatMessage => {
    if (typeof m !== "object" || m === null) throw rowError(row, `${field}[${i}]`, `must be an object { role, content }, got ${describe(m)}`);
    const { role, content } = m as Record<string, unknown>;
    if (!ROLES.includes(role as ChatRole)) throw rowError(row, `${field}[${i}].role`, `must be one of ${ROLES.join(", ")}, got ${describe(role)}`);
    if (typeof content !== "string") throw rowError(row, `${field}[${i}].content`, `must be a string, got ${describe(content)}`);
    return { role: role as ChatRole, content };
  });
  if (messages.at(-1)!.role === "assistant") {
    throw rowError(row, field, "must end with a user (or tool) message for the model to answer, not an assistant one");
  }
  return messages;
}

/** The answer text as the target rewards compare with. */
export function formatAnswer(row: DataRow, field: string, value: unknown, format: AnswerFormat = "auto"): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "string") throw rowError(row, field, `must be a string or a number, got ${describe(value)}`);
  const kind = format !== "auto" ? format : value.includes("####") ? "gsm8k" : value.includes("\\boxed{") ? "boxed" : "raw";
  if (kind === "gsm8k") {
    try {
      return parseGsm8kAnswer(value).target;
    } catch (error) {
      if (error instanceof DatasetFieldError) throw rowError(row, field, `must be ${error.expected} (answer_format gsm8k), got ${describe(error.received)}`);
      throw error;
    }
  }
  if (kind === "boxed") {
    const boxed = lastBoxed(value);
    if (boxed === undefined) throw rowError(row, field, `must contain \\boxed{…} (answer_format boxed), got ${describe(value)}`);
    return boxed.trim();
  }
  const text = value.trim();
  if (text === "") throw rowError(row, field, "must not be empty");
  return text;
}

/** Contents of the last `\boxed{…}`, braces balanced. */
function lastBoxed(text: string): string | undefined {
  const start = text.lastIndexOf("\\boxed{");
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start + 6; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(start + 7, i);
  }
  return undefined;
}

/** One row → a prompt example, or `null` when a transform skipped it. */
export async function rowToPromptExample(row: DataRow, split: string, mapping: PromptMapping = {}): Promise<PromptExample | null> {
  const obj = await source(row, split, mapping);
  if (obj === null) return null;
  const t = mapping.transform ? (mapping.transformName ?? "transform") : undefined;
  // A transform returns fixed names; otherwise the configured or the first common field.
  const promptField = t ? ("messages" in obj && obj.prompt === undefined ? "messages" : "prompt") : (mapping.promptField ?? PROMPT_FIELDS.find((f) => obj[f] !== undefined));
  if (promptField === undefined || obj[promptField] === undefined) {
    const hint = t || mapping.promptField ? "" : `; set dataset.prompt_field (looked for ${PROMPT_FIELDS.join(", ")})`;
    throw missing(row, obj, promptField ?? "prompt", t, hint);
  }
  const answerField = t ? "answer" : (mapping.answerField ?? ANSWER_FIELDS.find((f) => obj[f] !== undefined));
  if (answerField === undefined || obj[answerField] === undefined) {
    const hint = t || mapping.answerField ? "" : `; set dataset.answer_field (looked for ${ANSWER_FIELDS.join(", ")})`;
    throw missing(row, obj, answerField ?? "answer", t, hint);
  }
  const target = formatAnswer(row, answerField, obj[answerField], mapping.answerFormat);
  const raw = obj[promptField];
  const id = typeof obj.id === "string" && t ? obj.id : `${basename(row.file)}:${row.row}`;
  if (typeof raw === "string") {
    if (raw.trim() === "") throw rowError(row, promptField, "must not be empty");
    return { id, prompt: raw, target };
  }
  if (!Array.isArray(raw)) throw rowError(row, promptField, `must be a string or a list of { role, content } messages, got ${describe(raw)}`);
  const messages = parsePromptMessages(row, promptField, raw);
  // Rewards and logs see the last user turn as "the prompt".
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  return { id, prompt: lastUser?.content ?? messages.at(-1)!.content, target, messages };
}

export interface SftMapping {
  /** `messages` (chat), `prompt_response`, or `auto` (per row: `messages` when present). @default "auto" */
  format?: "auto" | "messages" | "prompt_response";
  /** @default "messages" */
  messagesField?: string;
  /** @default "prompt" */
  promptField?: string;
  /** Unset: `response`, else `completion` (TRL's prompt-completion shape). */
  responseField?: string;
  /** Builds `{ messages }` or `{ prompt, response | completion }` from the row. */
  transform?: RowTransform;
  transformName?: string;
}

/** One row → an SFT record, or `null` when a transform skipped it. */
export async function rowToSftRecord(row: DataRow, split: string, mapping: SftMapping = {}): Promise<SftRecord | null> {
  const obj = await source(row, split, mapping);
  if (obj === null) return null;
  const t = mapping.transform ? (mapping.transformName ?? "transform") : undefined;
  const where = `${row.file} ${row.unit} ${row.row}`;
  const messagesField = t ? "messages" : (mapping.messagesField ?? "messages");
  const format = t ? "auto" : (mapping.format ?? "auto");
  if (format === "messages" || (format === "auto" && obj[messagesField] !== undefined)) {
    if (obj[messagesField] === undefined) throw missing(row, obj, messagesField, t);
    return parseSftRecord({ messages: obj[messagesField], ...(obj.tools !== undefined ? { tools: obj.tools } : {}) }, where);
  }
  const promptField = t ? "prompt" : (mapping.promptField ?? "prompt");
  const responseField = t || !mapping.responseField ? (obj.response !== undefined ? "response" : "completion") : mapping.responseField;
  if (obj[promptField] === undefined) {
    const hint = format === "auto" && !t ? ` (and no "${messagesField}" field)` : "";
    throw missing(row, obj, promptField, t, hint);
  }
  if (obj[responseField] === undefined) throw missing(row, obj, t || !mapping.responseField ? "response" : responseField, t, t || !mapping.responseField ? ' (nor "completion")' : "");
  const prompt = obj[promptField];
  const response = obj[responseField];
  // TRL's conversational prompt-completion: both sides are message lists.
  if (Array.isArray(prompt) && Array.isArray(response)) return parseSftRecord({ messages: [...prompt, ...response] }, where);
  if (typeof prompt !== "string") throw rowError(row, promptField, `must be a string, got ${describe(prompt)}`);
  if (typeof response !== "string" || response === "") throw rowError(row, responseField, `must be a non-empty string, got ${describe(response)}`);
  return { prompt, response };
}
