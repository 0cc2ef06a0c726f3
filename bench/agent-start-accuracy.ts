/**
 * Held-out success of an agent checkpoint on the built-in `calculator-arithmetic` environment:
 * greedy and sampled, with the episode loop written out by hand (each turn re-renders the whole
 * conversation with the chat template and parses `<tool_call>` blocks itself). This is the
 * simple measuring stick for the starting checkpoint; the token-faithful rollout of src/rollout
 * is what training uses.
 *
 * Run: node --single-threaded-gc --import tsx bench/agent-start-accuracy.ts
 *        [--model assets/agent-model] [--tokenizer DIR] [--tasks 200] [--temperature 0.8]
 *        [--samples 2] [--max-turns 3] [--max-tokens 96] [--show 2]
 */
import { GenerationEngine } from "../src/generation/index.ts";
import { loadPretrained, Tokenizer, type ChatMessage } from "../src/models/index.ts";
import { MultiplicationTask, type PromptExample } from "../src/data/index.ts";
import { calculatorArithmetic, type AssistantTurn, type Environment, type ToolCall, type ToolCallParseError, type ToolSpec } from "../src/envs/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const modelDir = opt("model", "assets/agent-model");
const tokenizer = Tokenizer.fromPretrained(opt("tokenizer", modelDir));
const model = loadPretrained(modelDir);
const numTasks = Number(opt("tasks", "200"));
const temperature = Number(opt("temperature", "0.8"));
const samples = Number(opt("samples", "2"));
const maxTurns = Number(opt("max-turns", "3"));
const maxTokens = Number(opt("max-tokens", "96"));
const show = Number(opt("show", "2"));
// The task split the SFT data leaves unseen (scripts/make-agent-sft-data.ts uses the same options).
const tasks = new MultiplicationTask({ level: "mul-3x2", seed: 0, testSize: 500 }).test.slice(0, numTasks);
const maxSeqLen = model.maxPositions;
const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen });
const makeEnv = calculatorArithmetic({ maxTurns });

interface Episode {
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

async function run(greedy: boolean, n: number): Promise<Episode[]> {
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

function report(label: string, eps: Episode[]): void {
  const mean = (f: (e: Episode) => number) => eps.reduce((s, e) => s + f(e), 0) / eps.length;
  console.log(
    `${label}: success ${(mean((e) => e.reward) * 100).toFixed(1)}% over ${eps.length} episodes | called the tool ${(mean((e) => (e.toolCalls > 0 ? 1 : 0)) * 100).toFixed(1)}% | ` +
      `tool errors/episode ${mean((e) => e.toolErrors).toFixed(2)} | turns ${mean((e) => e.turns).toFixed(2)} | truncated ${(mean((e) => (e.truncated || e.overflow ? 1 : 0)) * 100).toFixed(1)}%`,
  );
  for (const e of eps.slice(0, show)) console.log("  " + JSON.stringify(tokenizer.applyChatTemplate(e.messages, { tools: e.tools })));
}

const t0 = performance.now();
report(`greedy (${tasks.length} test tasks)`, await run(true, 1));
report(`sampled T=${temperature} (${tasks.length} tasks × ${samples})`, await run(false, samples));
console.log(`model ${modelDir}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
engine.dispose();
model.dispose();
