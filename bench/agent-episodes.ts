/**
 * The hand-written episode loop of the agent benchmarks: each turn re-renders the whole
 * conversation with the chat template and parses `<tool_call>` blocks itself (the token-faithful
 * rollout of src/rollout is what training uses).
 */
import type { GenerationEngine } from "../src/generation/index.ts";
import type { ChatMessage, Tokenizer } from "../src/models/index.ts";
import type { PromptExample } from "../src/data/index.ts";
import { calculatorArithmetic, type AssistantTurn, type Environment, type ToolCall, type ToolCallParseError, type ToolSpec } from "../src/envs/index.ts";

export interface Episode {
  env: Environment<PromptExample>;
  /** For rendering: tool-call arguments as objects, so the template writes them as it was trained. */
  messages: ChatMessage[];
  tools?: ToolSpec[];
  done: boolean;
  reward: number;
  turns: number;
  toolCalls: number;
  toolErrors: number;
  overflow: boolean;
  truncated: boolean;
}

/** Hermes blocks → tool calls; anything unreadable → a parse error (src/models/tool-calls.ts will own this). */
function parseHermes(text: string, turn: number): { content: string; calls: { call: ToolCall; args: unknown }[]; errors: ToolCallParseError[] } {
  const calls: { call: ToolCall; args: unknown }[] = [];
  const errors: ToolCallParseError[] = [];
  const content = text.replace(/<tool_call>([\s\S]*?)(<\/tool_call>|$)/g, (raw, body: string, close: string) => {
    if (!close) {
      errors.push({ raw, message: "missing </tool_call>" });
      return "";
    }
    try {
      const v = JSON.parse(body) as { name?: unknown; arguments?: unknown };
      if (typeof v.name !== "string") throw new Error('no "name"');
      const id = `call_${turn}_${calls.length}`;
      calls.push({ call: { id, type: "function", function: { name: v.name, arguments: JSON.stringify(v.arguments ?? {}) } }, args: v.arguments ?? {} });
    } catch (err) {
      errors.push({ raw, message: `bad JSON (${(err as Error).message})` });
    }
    return "";
  });
  return { content: content.trim(), calls, errors };
}

export interface EpisodeOptions {
  engine: GenerationEngine;
  tokenizer: Tokenizer;
  tasks: readonly PromptExample[];
  greedy: boolean;
  temperature?: number;
  /** Episodes per task. */
  samples?: number;
  maxTurns?: number;
  /** Most tokens per assistant turn. */
  maxTokens?: number;
}

/** Runs every task's episodes in lockstep, one batched generate call per turn. */
export async function runAgentEpisodes(options: EpisodeOptions): Promise<Episode[]> {
  const { engine, tokenizer, tasks, greedy, temperature = 0.8, samples: n = 1, maxTurns = 3, maxTokens = 96 } = options;
  const maxSeqLen = engine.maxSeqLen;
  const makeEnv = calculatorArithmetic({ maxTurns });
  const episodes: { ep: Episode; task: PromptExample; index: number }[] = [];
  for (const [t, task] of tasks.entries()) {
    for (let s = 0; s < n; s++) {
      const env = makeEnv();
      const reset = await env.reset(task);
      episodes.push({ task, index: t * n + s, ep: { env, messages: reset.messages, tools: reset.tools, done: false, reward: 0, turns: 0, toolCalls: 0, toolErrors: 0, overflow: false, truncated: false } });
    }
  }
  for (let turn = 0; turn < maxTurns; turn++) {
    const active = episodes.filter((e) => !e.ep.done);
    if (!active.length) break;
    const prompts = active.map((e) => tokenizer.applyChatTemplate(e.ep.messages, { tools: e.ep.tools, addGenerationPrompt: true, tokenize: true }));
    const fits = active.filter((e, i) => {
      if (prompts[i]!.length < maxSeqLen - 8) return true;
      e.ep.done = e.ep.overflow = true; // context full: the episode fails
      return false;
    });
    const requests = prompts.filter((p) => p.length < maxSeqLen - 8).map((prompt, i) => ({ prompt, seed: fits[i]!.index * 101 + turn }));
    const out = await engine.generate(requests, greedy ? { greedy: true, maxTokens } : { temperature, maxTokens });
    for (const c of out) {
      const e = fits[c.requestIndex]!.ep;
      const parsed = parseHermes(c.text, turn);
      const turnMsg: AssistantTurn = { role: "assistant", content: parsed.content, ...(parsed.calls.length ? { tool_calls: parsed.calls.map((x) => x.call) } : {}), ...(parsed.errors.length ? { toolCallErrors: parsed.errors } : {}) };
      const step = await e.env.step(turnMsg);
      e.messages.push({
        role: "assistant",
        content: parsed.content,
        ...(parsed.calls.length ? { tool_calls: parsed.calls.map((x) => ({ ...x.call, function: { name: x.call.function.name, arguments: x.args } })) } : {}),
      });
      e.messages.push(...(step.messages ?? []));
      const info = (step.info ?? {}) as { turns?: number; toolCalls?: number; toolErrors?: number };
      Object.assign(e, { turns: info.turns ?? e.turns, toolCalls: info.toolCalls ?? e.toolCalls, toolErrors: info.toolErrors ?? e.toolErrors });
      if (step.done) {
        e.done = true;
        e.reward = step.reward ?? 0;
        e.truncated = step.truncated === true;
      }
    }
  }
  return episodes.map((e) => e.ep);
}


/** Mean reward (success rate) and other per-episode means. */
export function summarize(eps: readonly Episode[]) {
  const mean = (f: (e: Episode) => number) => eps.reduce((s, e) => s + f(e), 0) / eps.length;
  return {
    success: mean((e) => e.reward),
    calledTool: mean((e) => (e.toolCalls > 0 ? 1 : 0)),
    toolErrors: mean((e) => e.toolErrors),
    turns: mean((e) => e.turns),
    truncated: mean((e) => (e.truncated || e.overflow ? 1 : 0)),
  };
}
