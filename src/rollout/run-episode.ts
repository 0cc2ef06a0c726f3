/**
 * One multi-turn episode against an `Environment`: reset → (sample an assistant turn → parse its
 * tool calls → env.step → append the environment's messages as template tokens)* until the
 * environment says done or a budget runs out. The result is one token sequence (`Trajectory`)
 * whose sampled tokens carry the generator's logprobs and loss mask 1, and everything else mask 0.
 *
 * Every turn the prompt is checked against a full re-render of the conversation (the "prefix
 * check"): a difference is counted and reported with both decodings, and the sampled tokens are
 * kept — the trainer only ever sees tokens the model produced (or the template added), never a
 * re-tokenization of its own output.
 */
import type { ChatMessage } from "../models/index.ts";
import type { SamplingParams } from "../generation/index.ts";
import type { AssistantTurn, Environment, ToolCall, ToolCallParseError } from "../envs/index.ts";
import { ChatRenderer, type RenderTokenizer } from "./chat-renderer.ts";
import { EnvironmentError, RolloutError } from "./errors.ts";
import type { RequestBatcher } from "./request-batcher.ts";
import { Trajectory } from "./trajectory.ts";

/** Splits an assistant turn's text into content and tool calls (src/models' `parseToolCalls`). */
export type AssistantParser = (text: string, options: { idPrefix: string }) => { content: string; toolCalls: ToolCall[]; errors: ToolCallParseError[] };

export interface EpisodeBudget {
  /** Most assistant turns. @default 8 */
  maxTurns?: number;
  /** Most tokens sampled in one turn. */
  maxTokensPerTurn: number;
  /** Most tokens after the first prompt (sampled + environment). @default unlimited (only maxSeqLen) */
  maxResponseTokens?: number;
  /** Longest whole sequence (the generator's context). */
  maxSeqLen: number;
}

export interface RunEpisodeOptions<Task> {
  env: Environment<Task>;
  task: Task;
  batcher: RequestBatcher;
  tokenizer: RenderTokenizer;
  /** Converts messages for the template (tool-call arguments as objects). */
  toTemplate?: (messages: readonly ChatMessage[]) => ChatMessage[];
  parseAssistant: AssistantParser;
  /** Per-turn sampling (`maxTokens` comes from the budget; `n` is ignored). */
  sampling: SamplingParams;
  /** Seed of this episode; turn t samples with a seed derived from (seed, t). */
  seed: number;
  budget: EpisodeBudget;
  enableThinking?: boolean;
  /** Compare each turn's prompt with a full re-render. @default true */
  checkPrefix?: boolean;
  /** Episode id for messages. */
  id?: string;
}

export interface PrefixDivergence {
  turn: number;
  /** First index where the trajectory and the re-render differ. */
  at: number;
  /** Decodings from a little before `at`: what the trajectory holds, and what a re-render gives. */
  trajectoryText: string;
  rerenderText: string;
}

export interface EpisodeRecord {
  trajectory: Trajectory;
  /** Sum of the environment's step rewards (per-turn shaping plus the final reward). */
  reward: number;
  turnRewards: number[];
  turns: number;
  toolCalls: number;
  /** Malformed tool calls the parser found (each became an error message to the model). */
  toolCallErrors: number;
  /** Environment-reported tool failures (`info.toolErrors`), summed. */
  toolErrors: number;
  /** Ended by a budget (turns, tokens, context), not by the environment finishing. */
  truncated: boolean;
  divergences: PrefixDivergence[];
  /** The conversation as messages (assistant turns parsed). */
  messages: ChatMessage[];
  /** Last `info` the environment returned. */
  info: Record<string, unknown>;
}

export async function runEpisode<Task>(o: RunEpisodeOptions<Task>): Promise<EpisodeRecord> {
  const where = o.id ? `episode ${o.id}` : "episode";
  const maxTurns = o.budget.maxTurns ?? 8;
  const start = await callEnv(where, "reset", () => o.env.reset(o.task));
  if (!start || !Array.isArray(start.messages)) throw new EnvironmentError(`${where}: environment.reset`, "must return { messages: ChatMessage[], tools? }");
  const renderer = new ChatRenderer(o.tokenizer, { tools: start.tools, enableThinking: o.enableThinking, toTemplate: o.toTemplate });
  const messages: ChatMessage[] = [...start.messages];
  const traj = new Trajectory(renderer.initialPrompt(messages));
  const record: EpisodeRecord = {
    trajectory: traj, reward: 0, turnRewards: [], turns: 0, toolCalls: 0, toolCallErrors: 0, toolErrors: 0,
    truncated: false, divergences: [], messages, info: {},
  };
  for (let turn = 0; ; turn++) {
    if (turn >= maxTurns) {
      record.truncated = true;
      break;
    }
    const room = Math.min(
      o.budget.maxTokensPerTurn,
      o.budget.maxSeqLen - traj.length,
      (o.budget.maxResponseTokens ?? Infinity) - traj.responseLength,
    );
    if (room < 1) {
      record.truncated = true;
      break;
    }
    const c = await o.batcher.generate(traj.ids.slice(), { ...o.sampling, maxTokens: room, skipSpecialTokens: false, seed: turnSeed(o.seed, turn) });
    traj.appendSampled(c.tokenIds, c.logprobs, c.generatorVersion);
    record.turns++;
    const parsed = o.parseAssistant(c.text, { idPrefix: `call_${turn}` });
    record.toolCalls += parsed.toolCalls.length;
    record.toolCallErrors += parsed.errors.length;
    const assistant: AssistantTurn = {
      role: "assistant",
      content: parsed.content,
      ...(parsed.toolCalls.length ? { tool_calls: parsed.toolCalls } : {}),
      ...(parsed.errors.length ? { toolCallErrors: parsed.errors } : {}),
    };
    messages.push(toMessage(assistant));
    const step = await callEnv(where, "step", () => o.env.step(assistant));
    if (!step || typeof step.done !== "boolean") throw new EnvironmentError(`${where}: environment.step`, "must return { done: boolean, messages?, reward?, info? }");
    if (step.reward !== undefined && !Number.isFinite(step.reward)) throw new EnvironmentError(`${where}: environment.step`, `returned reward ${step.reward}; expected a finite number`);
    record.turnRewards.push(step.reward ?? 0);
    record.reward += step.reward ?? 0;
    if (step.info) {
      record.info = step.info;
      if (typeof step.info.toolErrors === "number") record.toolErrors = step.info.toolErrors;
    }
    if (step.done) {
      record.truncated = step.truncated === true || c.stopReason === "length";
      break;
    }
    if (c.stopReason === "length" && traj.length >= o.budget.maxSeqLen) {
      record.truncated = true;
      break;
    }
    const next = step.messages ?? [];
    const context = renderer.continuation(c.tokenIds, next);
    if (traj.length + context.length >= o.budget.maxSeqLen) {
      record.truncated = true; // the next turn would have no room to sample
      break;
    }
    traj.appendContext(context);
    messages.push(...next);
    if (o.checkPrefix ?? true) {
      const divergence = comparePrefix(renderer, traj.ids, messages, turn + 1);
      if (divergence) record.divergences.push(divergence);
    }
  }
  return record;
}

/** Turn t's seed: distinct per (episode seed, turn), stable across runs. */
export function turnSeed(seed: number, turn: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(turn + 1, 0x85ebca6b)) >>> 0;
}

function toMessage(a: AssistantTurn): ChatMessage {
  return { role: "assistant", content: a.content, ...(a.tool_calls ? { tool_calls: a.tool_calls } : {}) };
}

/** The trajectory against a full re-render of the conversation; undefined when they agree. */
export function comparePrefix(renderer: ChatRenderer, ids: readonly number[], messages: readonly ChatMessage[], turn: number): PrefixDivergence | undefined {
  const tokenizer = renderer.tokenizer;
  const full = tokenizer.encode(renderer.renderText(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  let at = 0;
  while (at < ids.length && at < full.length && ids[at] === full[at]) at++;
  if (at === ids.length && at === full.length) return undefined;
  const from = Math.max(0, at - 8);
  return {
    turn,
    at,
    trajectoryText: tokenizer.decode(ids.slice(from, at + 40)),
    rerenderText: tokenizer.decode(full.slice(from, at + 40)),
  };
}

async function callEnv<T>(where: string, what: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RolloutError) throw err;
    throw new EnvironmentError(`${where}: environment.${what}`, `threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
