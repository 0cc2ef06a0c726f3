/**
 * Training any TypeScript agent unchanged: a `ServeBackend` for the OpenAI-compatible server that
 * records every request made under `/episodes/<id>/v1` against that episode, token-faithfully.
 *
 * The agent keeps its conversation as messages and sends the whole history each call. When a
 * call's messages extend the previous call's (its messages + the assistant reply we returned),
 * the prompt is built as previous ids + sampled ids + the template tokens of the new messages —
 * exactly what `runEpisode` does — so the ids the agent's model "saw" are the ids it is trained
 * on. A call that does not extend the conversation (a fresh chat, an edited history) starts a new
 * segment: an episode may yield several sequences, each trained with the episode's reward.
 * Requests without an episode id are served without recording.
 */
import type { ChatMessage, Tokenizer } from "../models/index.ts";
import type { SamplingParams } from "../generation/index.ts";
import type { BackendResult, ChatRequest, CompletionRequest, ServeBackend, TokenCallback } from "../serve/index.ts";
import { ChatRenderer } from "./chat-renderer.ts";
import { RolloutError } from "./errors.ts";
import type { RequestBatcher } from "./request-batcher.ts";
import { comparePrefix, turnSeed, type AssistantParser, type EpisodeRecord, type PrefixDivergence } from "./run-episode.ts";
import { Trajectory } from "./trajectory.ts";

export interface RecordingBackendOptions {
  batcher: RequestBatcher;
  tokenizer: Tokenizer;
  modelName: string;
  parseAssistant: AssistantParser;
  toTemplate?: (messages: readonly ChatMessage[]) => ChatMessage[];
  enableThinking?: boolean;
  /** Longest sequence (the generator's context). */
  maxSeqLen: number;
  /** Per-call token cap when the request sets none. */
  maxTokensPerTurn: number;
  /** Compare each extended prompt with a full re-render. @default true */
  checkPrefix?: boolean;
  /**
   * Sampling that recorded requests always use (temperature, top-p/k, min-p): the trainer scores
   * tokens at the training temperature, so an agent's own settings must not change the
   * distribution its tokens are drawn from. Its `max_tokens` and `stop` are kept.
   */
  trainingSampling?: Pick<SamplingParams, "temperature" | "topP" | "topK" | "minP" | "greedy">;
}

interface Segment {
  trajectory: Trajectory;
  renderer: ChatRenderer;
  toolsKey: string;
  /** The conversation as the client will send it back: request messages + our reply. */
  messages: ChatMessage[];
  lastSampled: number[];
  turns: number;
  toolCalls: number;
  toolCallErrors: number;
  truncated: boolean;
  divergences: PrefixDivergence[];
}

interface EpisodeState {
  seed: number;
  calls: number;
  segments: Segment[];
}

export class RecordingBackend implements ServeBackend {
  readonly modelName: string;
  readonly tokenizer: Tokenizer;
  readonly #o: RecordingBackendOptions;
  readonly #episodes = new Map<string, EpisodeState>();

  constructor(options: RecordingBackendOptions) {
    this.#o = options;
    this.modelName = options.modelName;
    this.tokenizer = options.tokenizer;
  }

  /** Starts recording `episodeId`; requests under its URL are recorded until `finish`. */
  begin(episodeId: string, seed: number): void {
    if (this.#episodes.has(episodeId)) throw new RolloutError("episodeId", `'${episodeId}' is already being recorded`);
    this.#episodes.set(episodeId, { seed, calls: 0, segments: [] });
  }

  /** Stops recording and returns one record per segment, each with `reward`. */
  finish(episodeId: string, reward: number): EpisodeRecord[] {
    const state = this.#episodes.get(episodeId);
    if (!state) throw new RolloutError("episodeId", `'${episodeId}' is not being recorded`);
    this.#episodes.delete(episodeId);
    return state.segments
      .filter((s) => s.turns > 0)
      .map((s) => ({
        trajectory: s.trajectory, reward, turnRewards: [reward], turns: s.turns, toolCalls: s.toolCalls, toolCallErrors: s.toolCallErrors,
        toolErrors: 0, truncated: s.truncated, divergences: s.divergences, messages: s.messages, info: {},
      }));
  }

  async chat(req: ChatRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const state = this.#state(req.episodeId);
    if ((req.sampling.n ?? 1) !== 1) throw new RolloutError("n", "must be 1 for requests recorded against an episode (one trajectory per call)");
    const toolsKey = JSON.stringify(req.tools ?? null);
    let seg = state?.segments.at(-1);
    let newMessages: ChatMessage[] | undefined;
    if (seg && seg.toolsKey === toolsKey && extendsConversation(seg.messages, req.messages)) newMessages = req.messages.slice(seg.messages.length);
    if (!seg || newMessages === undefined) {
      const renderer = new ChatRenderer(this.tokenizer, {
        tools: req.tools, toTemplate: this.#o.toTemplate,
        enableThinking: (req.chatTemplateKwargs?.enable_thinking as boolean | undefined) ?? this.#o.enableThinking,
      });
      seg = {
        trajectory: new Trajectory(renderer.initialPrompt(req.messages)), renderer, toolsKey, messages: [...req.messages], lastSampled: [],
        turns: 0, toolCalls: 0, toolCallErrors: 0, truncated: false, divergences: [],
      };
      if (state) state.segments.push(seg);
    } else {
      const context = seg.renderer.continuation(seg.lastSampled, newMessages);
      seg.trajectory.appendContext(context);
      seg.messages.push(...newMessages);
      if (this.#o.checkPrefix ?? true) {
        const d = comparePrefix(seg.renderer, seg.trajectory.ids, seg.messages, seg.turns);
        if (d) seg.divergences.push(d);
      }
    }
    const traj = seg.trajectory;
    const promptIds = traj.ids.slice();
    const c = await this.#generate(promptIds, req.sampling, state);
    traj.appendSampled(c.tokenIds, c.logprobs, c.generatorVersion);
    seg.lastSampled = c.tokenIds;
    seg.turns++;
    seg.truncated = c.stopReason === "length";
    const parsed = this.#o.parseAssistant(c.text, { idPrefix: "call" });
    seg.toolCalls += parsed.toolCalls.length;
    seg.toolCallErrors += parsed.errors.length;
    seg.messages.push({ role: "assistant", content: parsed.content, ...(parsed.toolCalls.length ? { tool_calls: parsed.toolCalls } : {}) });
    if (onToken) for (const id of c.tokenIds) onToken(0, id);
    return { promptIds, choices: [{ text: c.text, tokenIds: c.tokenIds, logprobs: c.logprobs, stopReason: c.stopReason }] };
  }

  async complete(req: CompletionRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const state = this.#state(req.episodeId);
    if ((req.sampling.n ?? 1) !== 1) throw new RolloutError("n", "must be 1 for requests recorded against an episode (one trajectory per call)");
    const promptIds = typeof req.prompt === "string" ? this.tokenizer.encode(req.prompt, { addSpecialTokens: true }) : [...req.prompt];
    const c = await this.#generate(promptIds, req.sampling, state);
    if (state) {
      const traj = new Trajectory(promptIds);
      traj.appendSampled(c.tokenIds, c.logprobs, c.generatorVersion);
      const renderer = new ChatRenderer(this.tokenizer);
      state.segments.push({
        trajectory: traj, renderer, toolsKey: "completion", messages: [], lastSampled: c.tokenIds, turns: 1, toolCalls: 0, toolCallErrors: 0,
        truncated: c.stopReason === "length", divergences: [],
      });
    }
    if (onToken) for (const id of c.tokenIds) onToken(0, id);
    return { promptIds, choices: [{ text: c.text, tokenIds: c.tokenIds, logprobs: c.logprobs, stopReason: c.stopReason }] };
  }

  #state(episodeId: string | undefined): EpisodeState | undefined {
    if (episodeId === undefined) return undefined;
    const state = this.#episodes.get(episodeId);
    if (!state) throw new RolloutError("episode", `'${episodeId}' is not being recorded (finished, or never started by the rollout)`);
    return state;
  }

  async #generate(promptIds: number[], sampling: SamplingParams, state: EpisodeState | undefined) {
    const room = Math.min(sampling.maxTokens ?? this.#o.maxTokensPerTurn, this.#o.maxTokensPerTurn, this.#o.maxSeqLen - promptIds.length);
    if (room < 1) throw new RolloutError("messages", `leave no room to generate: the prompt has ${promptIds.length} tokens and the context holds ${this.#o.maxSeqLen}`);
    const seed = state ? turnSeed(state.seed, state.calls++) : (sampling.seed ?? Math.floor(Math.random() * 2 ** 31));
    const forced = state ? this.#o.trainingSampling : undefined;
    const { logprobs: _top, ...rest } = sampling; // top-logprobs are not recorded; the batcher shares calls
    return this.#o.batcher.generate(promptIds, { ...rest, ...forced, maxTokens: room, skipSpecialTokens: false, seed });
  }
}

/** Whether `next` starts with every message of `previous` (compared by role, content, tool calls). */
export function extendsConversation(previous: readonly ChatMessage[], next: readonly ChatMessage[]): boolean {
  if (next.length <= previous.length) return false;
  return previous.every((m, i) => canonical(m) === canonical(next[i]!));
}

function canonical(m: ChatMessage): string {
  const calls = Array.isArray(m.tool_calls)
    ? (m.tool_calls as { function?: { name?: string; arguments?: unknown } }[]).map((c) => [c.function?.name, canonicalJson(c.function?.arguments)])
    : [];
  const content = typeof m.content === "string" ? m.content.trim() : "";
  return JSON.stringify([m.role, content, calls, m.tool_call_id ?? null]);
}

/** Arguments as canonical JSON (a JSON string and the object it encodes compare equal). */
function canonicalJson(value: unknown): string {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return v as string;
    }
  }
  return JSON.stringify(v);
}
