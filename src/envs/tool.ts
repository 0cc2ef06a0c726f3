/**
 * `tool({ name, description, parameters: z.object(...), execute })`: a tool declared once with a
 * zod schema. Its `spec` (JSON schema from zod v4's own `toJSONSchema`) goes to the chat template
 * and to OpenAI clients; `call(argumentsJson)` runs it on what the model wrote. Everything the
 * model can get wrong (bad JSON, arguments that break the schema, a tool that throws, rejects or
 * hangs) comes back as an error text for the model, never as an exception: one bad sample must
 * not end a rollout.
 */
import { z } from "zod";
import { EnvOptionError } from "./errors.ts";
import type { JSONSchema, ToolCall, ToolSpec } from "./types.ts";

/** What a tool call returns: `content` goes to the model; `error` is set when the call failed. */
export interface ToolResult {
  content: string;
  error?: string;
}

export interface ToolCallOptions {
  /** Overrides the tool's `timeoutMs` for this call. */
  timeoutMs?: number;
}

export interface ToolDefinition<Params extends z.ZodObject> {
  /** What the model writes in `"name"`: letters, digits, `_` and `-`, as OpenAI requires. */
  name: string;
  description?: string;
  parameters: Params;
  /** Runs the tool; a non-string result is sent as JSON. May be async; the signal fires on timeout. */
  execute: (args: z.infer<Params>, context: { signal: AbortSignal }) => unknown;
  /** Longest a call may run before it becomes an error message. @default 10000 */
  timeoutMs?: number;
}

export interface Tool<Params extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly description?: string;
  readonly parameters: Params;
  readonly spec: ToolSpec;
  readonly timeoutMs: number;
  call(argumentsJson: string, options?: ToolCallOptions): Promise<ToolResult>;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function tool<Params extends z.ZodObject>(definition: ToolDefinition<Params>): Tool<Params> {
  const { name, description, parameters, execute } = definition;
  if (typeof name !== "string" || !TOOL_NAME.test(name)) throw new EnvOptionError("name", "1-64 letters, digits, '_' or '-'", name);
  if (!(parameters instanceof z.ZodObject)) throw new EnvOptionError("parameters", "a zod object schema (z.object({...}))", parameters);
  if (typeof execute !== "function") throw new EnvOptionError("execute", "a function", execute);
  const timeoutMs = checkTimeout("timeoutMs", definition.timeoutMs ?? 10_000);
  const spec: ToolSpec = {
    type: "function",
    function: { name, ...(description !== undefined ? { description } : {}), parameters: toolParametersSchema(parameters) },
  };
  return {
    name,
    description,
    parameters,
    spec,
    timeoutMs,
    async call(argumentsJson: string, options: ToolCallOptions = {}): Promise<ToolResult> {
      const limit = options.timeoutMs === undefined ? timeoutMs : checkTimeout("timeoutMs", options.timeoutMs);
      let raw: unknown;
      try {
        raw = argumentsJson.trim() === "" ? {} : JSON.parse(argumentsJson);
      } catch (err) {
        return failure(`arguments of ${name} are not valid JSON (${(err as Error).message})`);
      }
      const parsed = parameters.safeParse(raw);
      if (!parsed.success) return failure(`invalid arguments for ${name}: ${summarizeIssues(parsed.error.issues)}`);
      try {
        const value = await withTimeout((signal) => execute(parsed.data, { signal }), limit);
        return { content: typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)) };
      } catch (err) {
        if (err instanceof ToolTimeout) return failure(`${name} timed out after ${limit} ms`);
        return failure(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

/**
 * Runs one parsed tool call against a list of tools. An unknown name is an error message that
 * lists the tools there are, so the model can correct itself.
 */
export async function callTool(tools: readonly Tool[], call: ToolCall, options?: ToolCallOptions): Promise<ToolResult> {
  const name = call.function?.name;
  const found = tools.find((t) => t.name === name);
  if (!found) return failure(`unknown tool ${JSON.stringify(name)}; available: ${tools.map((t) => t.name).join(", ") || "none"}`);
  const args = call.function.arguments;
  // Clients differ: OpenAI sends a JSON string, some agents an already-parsed object.
  return found.call(typeof args === "string" ? args : JSON.stringify(args ?? {}), options);
}

/**
 * zod's JSON schema, minus what chat templates and OpenAI do not want: the `$schema` URI, and the
 * ±2^53 bounds zod writes on every `z.number().int()` (noise for a model reading the schema).
 */
export function toolParametersSchema(parameters: z.ZodType): JSONSchema {
  return clean(z.toJSONSchema(parameters, { io: "input" })) as JSONSchema;
}

function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "$schema") continue;
    if ((k === "minimum" && v === Number.MIN_SAFE_INTEGER) || (k === "maximum" && v === Number.MAX_SAFE_INTEGER)) continue;
    out[k] = clean(v);
  }
  return out;
}

/** `expression: expected string, received number; n: ...`: one line naming each bad field. */
export function summarizeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const where = i.path.length ? i.path.map(String).join(".") : "(arguments)";
      return `${where}: ${i.message.replace(/^Invalid input: /, "")}`;
    })
    .join("; ");
}

function failure(error: string): ToolResult {
  return { content: `error: ${error}`, error };
}

class ToolTimeout extends Error {}

async function withTimeout<T>(run: (signal: AbortSignal) => T, ms: number): Promise<Awaited<T>> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new ToolTimeout());
    }, ms);
  });
  try {
    // Promise.resolve().then: a synchronous throw in `run` becomes a rejection like an async one.
    return await Promise.race([Promise.resolve().then(() => run(controller.signal)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function checkTimeout(option: string, ms: number): number {
  if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) throw new EnvOptionError(option, "a positive number of milliseconds", ms);
  return ms;
}
