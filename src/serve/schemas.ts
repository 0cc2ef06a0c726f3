/**
 * Request bodies of the OpenAI-compatible endpoints as zod schemas, and their translation to
 * the generation layer's `SamplingParams`. Unknown fields are ignored (as vLLM does); known
 * fields we cannot honour (penalties, non-text content, `echo`...) are rejected with a 400 that
 * names them rather than silently changing the meaning of the request.
 */
import { z } from "zod";
import type { SamplingParams } from "../generation/index.ts";
import type { ChatMessage, ToolSpec } from "../models/index.ts";
import { badRequest, type ServeError } from "./errors.ts";

const textPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const content = z.union([z.string(), z.array(textPart)], { error: "must be a string or an array of text parts" });

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function").optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: content.nullable().optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).nullable().optional(),
  tool_call_id: z.string().optional(),
  reasoning_content: z.string().nullable().optional(),
});

const tool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '_', '.' or '-'"),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const toolChoice = z.union(
  [z.enum(["none", "auto", "required"]), z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) })],
  { error: 'must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}' },
);

const stop = z.union([z.string(), z.array(z.string()).max(16)], { error: "must be a string or an array of up to 16 strings" }).nullable().optional();
const int = (min: number, max?: number) => (max === undefined ? z.number().int().min(min) : z.number().int().min(min).max(max));

/** Fields shared by both endpoints (OpenAI's, plus vLLM's sampling extensions). */
const samplingFields = {
  model: z.string().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  n: int(1, 128).nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional(),
  max_tokens: int(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  presence_penalty: z.number().nullable().optional(),
  frequency_penalty: z.number().nullable().optional(),
  user: z.string().optional(),
  // vLLM extensions.
  top_k: z.number().int().min(-1).nullable().optional(),
  min_p: z.number().min(0).lt(1).nullable().optional(),
  ignore_eos: z.boolean().nullable().optional(),
  stop_token_ids: z.array(int(0)).nullable().optional(),
  skip_special_tokens: z.boolean().nullable().optional(),
  return_token_ids: z.boolean().nullable().optional(),
};

export const chatCompletionSchema = z.looseObject({
  ...samplingFields,
  messages: z.array(message).min(1, "must contain at least one message"),
  tools: z.array(tool).nullable().optional(),
  tool_choice: toolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  max_completion_tokens: int(1).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: int(0, 20).nullable().optional(),
  response_format: z.looseObject({ type: z.string() }).nullable().optional(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullable().optional(),
});

export const completionSchema = z.looseObject({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(int(0)).min(1), z.array(z.string()), z.array(z.array(int(0)))], {
    error: "must be a string or an array of token ids",
  }),
  logprobs: int(0, 20).nullable().optional(),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  best_of: int(1).nullable().optional(),
});

export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;
export type CompletionBody = z.infer<typeof completionSchema>;

/** Parses `body` or throws a 400 naming the first bad field (e.g. `messages[1].role`). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("request body must be a JSON object");
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = issue.path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), "");
  const missing = issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined;
  throw badRequest(missing ? `'${param}' is required` : `'${param}': ${issue.message}`, param || null);
}

/** Rejects fields whose meaning we cannot honour. */
function rejectUnsupported(body: ChatCompletionBody | CompletionBody): void {
  for (const k of ["presence_penalty", "frequency_penalty"] as const) {
    if (body[k] != null && body[k] !== 0) throw badRequest(`'${k}' is not supported (only 0)`, k);
  }
}

/** The sampling parameters both endpoints share; `maxTokens` undefined = the backend's default. */
function commonSampling(body: ChatCompletionBody | CompletionBody, maxTokens: number | null | undefined): SamplingParams {
  rejectUnsupported(body);
  const p: SamplingParams = {};
  if (body.temperature != null) p.temperature = body.temperature;
  if (body.top_p != null) p.topP = body.top_p;
  if (body.top_k != null && body.top_k > 0) p.topK = body.top_k;
  if (body.min_p != null) p.minP = body.min_p;
  if (body.n != null) p.n = body.n;
  if (body.seed != null) p.seed = body.seed;
  if (maxTokens != null) p.maxTokens = maxTokens;
  if (body.stop != null) {
    const list = typeof body.stop === "string" ? [body.stop] : body.stop;
    if (list.some((s) => s === "")) throw badRequest("'stop' strings must not be empty", "stop");
    if (list.length) p.stop = list;
  }
  if (body.stop_token_ids?.length) p.stopTokenIds = body.stop_token_ids;
  if (body.ignore_eos != null) p.ignoreEos = body.ignore_eos;
  if (body.skip_special_tokens != null) p.skipSpecialTokens = body.skip_special_tokens;
  return p;
}

export type ToolChoice = "none" | "auto" | "required" | { name: string };

export interface ChatPlan {
  messages: ChatMessage[];
  /** Tools to render (after `tool_choice`), undefined when none. */
  tools?: ToolSpec[];
  toolChoice: ToolChoice;
  /** Whether to parse tool calls out of the generated text. */
  parseTools: boolean;
  sampling: SamplingParams;
  /** Return `logprobs` in the response. */
  logprobs: boolean;
  stream: boolean;
  includeUsage: boolean;
  chatTemplateKwargs?: Record<string, unknown>;
}

/** Flattens text parts; anything but text is a 400 naming the message. */
function flattenContent(c: ChatCompletionBody["messages"][number]["content"], i: number): string | null {
  if (c == null || typeof c === "string") return c ?? null;
  return c
    .map((part, j) => {
      if (part.type !== "text" || typeof part.text !== "string") throw badRequest(`'messages[${i}].content[${j}]': only text content parts are supported (got type '${part.type}')`, `messages[${i}].content[${j}]`);
      return part.text;
    })
    .join("");
}

/** Turns a validated chat body into what the server and backend need. */
export function planChat(body: ChatCompletionBody): ChatPlan {
  if (body.response_format && body.response_format.type !== "text") {
    throw badRequest(`'response_format' type '${body.response_format.type}' is not supported (only 'text')`, "response_format.type");
  }
  const messages: ChatMessage[] = body.messages.map((m, i) => {
    const text = flattenContent(m.content, i);
    if (m.role === "tool" && !m.tool_call_id) throw badRequest(`'messages[${i}].tool_call_id' is required for tool messages`, `messages[${i}].tool_call_id`);
    if (m.role !== "assistant" && text === null) throw badRequest(`'messages[${i}].content' is required for ${m.role} messages`, `messages[${i}].content`);
    const out: ChatMessage = { ...m, role: m.role === "developer" ? "system" : m.role, content: text ?? "" };
    if (m.tool_calls == null || m.tool_calls.length === 0) delete out.tool_calls;
    else out.tool_calls = m.tool_calls.map((tc) => ({ ...tc, type: "function" }));
    if (m.reasoning_content == null) delete out.reasoning_content;
    return out;
  });
  const tools = (body.tools ?? []) as ToolSpec[];
  const rawChoice = body.tool_choice ?? "auto";
  let toolChoice: ToolChoice;
  let rendered: ToolSpec[] = tools;
  if (typeof rawChoice === "string") {
    toolChoice = rawChoice;
    if (rawChoice === "required" && tools.length === 0) throw badRequest("'tool_choice' is 'required' but no 'tools' were given", "tool_choice");
  } else {
    const name = rawChoice.function.name;
    const named = tools.filter((t) => t.function.name === name);
    if (named.length === 0) throw badRequest(`'tool_choice' names function '${name}', which is not in 'tools'`, "tool_choice.function.name");
    toolChoice = { name };
    // Generation is not constrained; showing the model only the named tool is the closest we get.
    rendered = named;
  }
  if (toolChoice === "none") rendered = [];
  if (body.top_logprobs != null && body.top_logprobs > 0 && !body.logprobs) throw badRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
  if (body.max_tokens != null && body.max_completion_tokens != null && body.max_tokens !== body.max_completion_tokens) {
    throw badRequest("'max_tokens' and 'max_completion_tokens' disagree; send one", "max_completion_tokens");
  }
  const sampling = commonSampling(body, body.max_completion_tokens ?? body.max_tokens);
  if (body.logprobs && body.top_logprobs) sampling.logprobs = body.top_logprobs;
  const plan: ChatPlan = {
    messages,
    toolChoice,
    parseTools: rendered.length > 0,
    sampling,
    logprobs: body.logprobs === true,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
  if (rendered.length) plan.tools = rendered;
  if (body.chat_template_kwargs) plan.chatTemplateKwargs = body.chat_template_kwargs;
  return plan;
}

export interface CompletionPlan {
  prompt: string | number[];
  sampling: SamplingParams;
  /** Top alternatives per token (the `logprobs` integer), or null for no logprobs. */
  logprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
}

export function planCompletion(body: CompletionBody): CompletionPlan {
  let prompt: string | number[];
  const p = body.prompt;
  if (typeof p === "string") prompt = p;
  else if (p.every((x) => typeof x === "number")) prompt = p as number[];
  else if (p.length === 1) prompt = p[0] as string | number[];
  else throw badRequest("'prompt' must be one prompt (a string or an array of token ids); send one request per prompt", "prompt");
  if (typeof prompt !== "string" && prompt.length === 0) throw badRequest("'prompt' must not be empty", "prompt");
  if (body.echo) throw badRequest("'echo' is not supported", "echo");
  if (body.suffix) throw badRequest("'suffix' is not supported", "suffix");
  if (body.best_of != null && body.best_of !== (body.n ?? 1)) throw badRequest("'best_of' is not supported (only equal to n)", "best_of");
  const sampling = commonSampling(body, body.max_tokens ?? 16); // OpenAI's default for completions
  if (body.logprobs) sampling.logprobs = body.logprobs;
  return { prompt, sampling, logprobs: body.logprobs ?? null, stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true };
}

export type { ServeError };
