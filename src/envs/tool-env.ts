/**
 * `ToolEnv`: the common agent environment without a class of one's own — a task becomes
 * `[system?, user]`, the model calls tools until it answers without one, and a reward function
 * scores that answer.
 *
 * Per assistant turn:
 * - tool calls → each runs in order, one `tool` message per call (`done: false`);
 * - calls the parser could not read (`toolCallErrors`) → one `tool` error message each, saying
 *   what was malformed (`done: false`), after the results of the readable calls;
 * - no tool calls and no errors → the final answer: `done: true`, `reward`;
 * - the `maxTurns`-th assistant turn that still calls tools → `done: true, truncated: true`, and
 *   the reward is computed from that turn's `content` (text outside the tool calls) as if it were
 *   the final answer: an answer written beside a last call still counts; the calls are not run.
 * `info` carries episode totals: `turns`, `toolCalls`, `toolErrors` (malformed calls, unknown
 * tools, bad arguments and failing tools).
 */
import { callTool, type Tool } from "./tool.ts";
import { EnvOptionError, EnvStateError } from "./errors.ts";
import type { AssistantTurn, ChatMessage, EnvReset, EnvStep, Environment, EnvironmentFactory, ToolMessage } from "./types.ts";

export interface ToolEnvOptions<Task> {
  /** Most assistant turns per episode (tool-calling turns included). */
  maxTurns: number;
  /** Scores the final answer: `finalAnswer` is the last assistant content; `transcript` the whole conversation. */
  reward: (task: Task, finalAnswer: string, transcript: readonly ChatMessage[]) => number | Promise<number>;
  /** System message, fixed or per task. @default none */
  system?: string | ((task: Task) => string);
  /** The user message for a task. @default `task.prompt` (a `PromptExample`), or the task itself when it is a string */
  prompt?: (task: Task) => string;
  /** Tool messages longer than this are cut (short contexts of small models). @default 1000 */
  maxToolMessageChars?: number;
  /** Per-call timeout, overriding each tool's own. */
  toolTimeoutMs?: number;
}

export class ToolEnv<Task = unknown> implements Environment<Task> {
  readonly tools: readonly Tool[];
  readonly maxTurns: number;
  readonly #options: ToolEnvOptions<Task>;
  readonly #maxChars: number;
  #task: { value: Task } | null = null;
  #transcript: ChatMessage[] = [];
  #done = false;
  #turns = 0;
  #toolCalls = 0;
  #toolErrors = 0;

  constructor(tools: readonly Tool[], options: ToolEnvOptions<Task>) {
    if (!Array.isArray(tools)) throw new EnvOptionError("tools", "an array of tools made with tool()", tools);
    const names = new Set<string>();
    for (const t of tools) {
      if (typeof t?.call !== "function" || typeof t.name !== "string") throw new EnvOptionError("tools[]", "a tool made with tool()", t);
      if (names.has(t.name)) throw new EnvOptionError("tools", "tools with distinct names", t.name);
      names.add(t.name);
    }
    if (!Number.isInteger(options?.maxTurns) || options.maxTurns < 1) throw new EnvOptionError("maxTurns", "an integer >= 1", options?.maxTurns);
    if (typeof options.reward !== "function") throw new EnvOptionError("reward", "a function (task, finalAnswer, transcript) => number", options.reward);
    this.#maxChars = options.maxToolMessageChars ?? 1000;
    if (!Number.isInteger(this.#maxChars) || this.#maxChars < 1) throw new EnvOptionError("maxToolMessageChars", "an integer >= 1", this.#maxChars);
    this.tools = [...tools];
    this.maxTurns = options.maxTurns;
    this.#options = options;
  }

  reset(task: Task): EnvReset {
    const system = typeof this.#options.system === "function" ? this.#options.system(task) : this.#options.system;
    const messages: ChatMessage[] = [
      ...(system !== undefined ? [{ role: "system", content: system }] : []),
      { role: "user", content: this.#prompt(task) },
    ];
    this.#task = { value: task };
    this.#transcript = messages.map((m) => ({ ...m }));
    this.#done = false;
    this.#turns = this.#toolCalls = this.#toolErrors = 0;
    return { messages, ...(this.tools.length ? { tools: this.tools.map((t) => t.spec) } : {}) };
  }

  async step(assistant: AssistantTurn): Promise<EnvStep> {
    if (!this.#task) throw new EnvStateError("ToolEnv.step called before reset(task)");
    if (this.#done) throw new EnvStateError("ToolEnv.step called after the episode ended (done: true); call reset(task) first");
    const task = this.#task.value;
    const { toolCallErrors = [], ...message } = assistant;
    const calls = message.tool_calls ?? [];
    this.#transcript.push({ ...message, content: message.content ?? "" });
    this.#turns++;
    const content = message.content ?? "";

    if (calls.length === 0 && toolCallErrors.length === 0) return this.#finish(task, content, false);
    if (this.#turns >= this.maxTurns) return this.#finish(task, content, true);

    const out: ChatMessage[] = [];
    for (const call of calls) {
      this.#toolCalls++;
      const result = await callTool(this.tools, call, this.#options.toolTimeoutMs === undefined ? {} : { timeoutMs: this.#options.toolTimeoutMs });
      if (result.error !== undefined) this.#toolErrors++;
      out.push(this.#toolMessage(call.id, call.function?.name ?? "", result.content));
    }
    toolCallErrors.forEach((e, i) => {
      this.#toolErrors++;
      out.push(this.#toolMessage(`invalid_${i}`, "invalid_tool_call", `error: malformed tool call: ${e.message}`));
    });
    this.#transcript.push(...out);
    return { messages: out, done: false, info: this.#info() };
  }

  /** The conversation so far (messages from reset, assistant turns, tool results). */
  get transcript(): readonly ChatMessage[] {
    return this.#transcript;
  }

  async #finish(task: Task, finalAnswer: string, truncated: boolean): Promise<EnvStep> {
    this.#done = true;
    const reward = await this.#options.reward(task, finalAnswer, this.#transcript);
    if (typeof reward !== "number" || Number.isNaN(reward)) throw new EnvOptionError("reward", "a function returning a number", reward);
    return { reward, done: true, ...(truncated ? { truncated: true } : {}), info: this.#info() };
  }

  #toolMessage(id: string, name: string, content: string): ToolMessage {
    const text = content.length > this.#maxChars ? content.slice(0, this.#maxChars) : content;
    return { role: "tool", tool_call_id: id, name, content: text };
  }

  #info(): Record<string, number> {
    return { turns: this.#turns, toolCalls: this.#toolCalls, toolErrors: this.#toolErrors };
  }

  #prompt(task: Task): string {
    if (this.#options.prompt) return this.#options.prompt(task);
    if (typeof task === "string") return task;
    const prompt = (task as { prompt?: unknown } | null)?.prompt;
    if (typeof prompt === "string") return prompt;
    throw new EnvOptionError("prompt", "given when tasks are neither strings nor { prompt: string } objects", task);
  }
}

/** A factory making one fresh `ToolEnv` per episode (environments keep per-episode state). */
export function toolEnvFactory<Task>(tools: readonly Tool[], options: ToolEnvOptions<Task>): EnvironmentFactory<Task> {
  new ToolEnv(tools, options); // validate once, now, rather than on the first episode
  return () => new ToolEnv(tools, options);
}
