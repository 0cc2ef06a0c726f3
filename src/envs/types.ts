/**
 * The shapes environments exchange with rollouts and servers (AGENT-CONTRACT.md): OpenAI chat
 * messages, tool calls and tool schemas as plain data. `ToolCall`, `ToolSpec` and
 * `ToolCallParseError` are structurally the same as src/models/tool-calls.ts', so values from
 * either side fit the other.
 */
import type { ChatMessage } from "../models/tokenizer/chat-template.ts";

export type { ChatMessage };

/** A JSON Schema document (what zod's `toJSONSchema` produces), as plain data. */
export type JSONSchema = Record<string, unknown>;

/** An OpenAI tool call; `arguments` is a JSON **string**, as the API sends it. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A tool call the parser could not read (bad JSON, no name...): told to the model, never thrown. */
export interface ToolCallParseError {
  raw: string;
  message: string;
}

/** What goes to the chat template's `tools` and to OpenAI's `tools`. */
export interface ToolSpec {
  type: "function";
  function: { name: string; description?: string; parameters: JSONSchema };
}

/** A tool result message: answers the call `tool_call_id`. */
export interface ToolMessage extends ChatMessage {
  role: "tool";
  tool_call_id: string;
  name: string;
  content: string;
}

/** One sampled assistant turn as the rollout hands it to the environment. */
export interface AssistantTurn {
  role: "assistant";
  content: string;
  tool_calls?: ToolCall[];
  /** Tool calls the parser could not read; the environment tells the model what was wrong. */
  toolCallErrors?: ToolCallParseError[];
}

export interface EnvReset {
  /** The conversation so far (system?, user...), rendered before the first assistant turn. */
  messages: ChatMessage[];
  /** Tool schemas for the chat template and the model. */
  tools?: ToolSpec[];
}

export interface EnvStep {
  /** Messages to append after the assistant turn (tool results, user replies). */
  messages?: ChatMessage[];
  /** Per-turn shaping; on the step with `done: true` it is the episode's final reward. */
  reward?: number;
  done: boolean;
  /** The episode ended on a budget (turns), not on a final answer. */
  truncated?: boolean;
  /** Counters (`turns`, `toolCalls`, `toolErrors`) the rollout turns into metrics. */
  info?: Record<string, unknown>;
}

export interface Environment<Task = unknown> {
  reset(task: Task): EnvReset | Promise<EnvReset>;
  step(assistant: AssistantTurn): EnvStep | Promise<EnvStep>;
  close?(): void | Promise<void>;
}

/** One fresh environment per episode. */
export type EnvironmentFactory<Task = unknown> = () => Environment<Task>;
