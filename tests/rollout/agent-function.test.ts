import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { loadPretrained, Tokenizer, parseToolCalls, toTemplateMessages } from "../../src/models/index.ts";
import { GenerationEngine, type Completion } from "../../src/generation/index.ts";
import { createServer } from "../../src/serve/index.ts";
import { agentGroupRollout, RecordingBackend, RequestBatcher, extendsConversation, type AgentFunction, type BatchGenerator } from "../../src/rollout/index.ts";

const agentTokenizer = fileURLToPath(new URL("../../assets/tiny-agent-tokenizer", import.meta.url));
const modelDir = fileURLToPath(new URL("../../assets/default-model", import.meta.url));

const calc = { type: "function" as const, function: { name: "calculator", description: "arithmetic", parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] } } };

/** An agent in the usual shape: three chat calls with a growing history (one streamed), a tool result each time. */
const agent: AgentFunction<{ id: string; prompt: string }> = async (client, task) => {
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: task.prompt }];
  for (let turn = 0; turn < 3; turn++) {
    let content = "";
    if (turn === 1) {
      const stream = await client.chat.completions.create({ model: "policy", messages, tools: [calc], max_tokens: 10, stream: true });
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";
    } else {
      const r = await client.chat.completions.create({ model: "policy", messages, tools: [calc], max_tokens: 10, temperature: 1.7 });
      content = r.choices[0]!.message.content ?? "";
      messages.push(r.choices[0]!.message);
      messages.push({ role: "user", content: `turn ${turn} done` });
      continue;
    }
    messages.push({ role: "assistant", content });
    messages.push({ role: "user", content: `turn ${turn} done` });
  }
  return 1;
};

test("an agent function through the openai client: recorded tokens and logprobs are exactly the engine's samples", async () => {
  // The default model's weights with the agent tokenizer's vocab (same characters; random-ish outputs are fine here).
  const tokenizer = Tokenizer.fromPretrained(agentTokenizer);
  const model = loadPretrained(modelDir);
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 32, maxSeqLen: 256 });
  const log: Completion[] = [];
  const recording: BatchGenerator = {
    async generate(requests, sampling) {
      assert.equal(sampling.temperature, 0.5, "recorded requests sample at the training temperature, whatever the agent asks");
      const out = await engine.generate(requests, sampling);
      log.push(...out);
      return out;
    },
  };
  const backend = new RecordingBackend({
    batcher: new RequestBatcher(recording), tokenizer, modelName: "policy", toTemplate: toTemplateMessages,
    parseAssistant: (text, o) => parseToolCalls(text, "hermes", o), maxSeqLen: 256, maxTokensPerTurn: 16, trainingSampling: { temperature: 0.5 },
  });
  const server = await createServer({ backend, maxConcurrency: 64, maxQueue: 64 });
  try {
    const tasks = Array.from({ length: 4 }, (_, i) => ({ id: `q${i}`, prompt: `${i}*7=?` }));
    const groups = await agentGroupRollout({ tasks, n: 2, agent, backend, serverUrl: server.url, taskId: (t) => t.id, seed: 3 });
    const records = groups.flatMap((g) => g.records);
    assert.equal(records.length, 8, "one segment per episode: each call extended the previous conversation");
    assert.ok(records.every((r) => r.turns === 3 && r.reward === 1));
    assert.equal(log.length, 24);
    for (const r of records) {
      const t = r.trajectory;
      const spans: [number, number][] = [];
      for (let i = 0; i < t.length; i++) if (t.lossMask[i] === 1 && t.lossMask[i - 1] !== 1) spans.push([i, i]);
      let matched = 0;
      for (const c of log) {
        if (c.promptIds.length >= t.length || !c.promptIds.every((id, k) => id === t.ids[k])) continue;
        const at = c.promptIds.length;
        if (!c.tokenIds.every((id, k) => id === t.ids[at + k])) continue;
        assert.deepEqual(t.logprobs.slice(at, at + c.tokenIds.length), c.logprobs);
        assert.ok(t.lossMask.slice(at, at + c.tokenIds.length).every((m) => m === 1));
        matched += c.tokenIds.length;
      }
      assert.equal(matched, t.sampledCount, "every trained token is a token the engine sampled for exactly this prefix");
    }
  } finally {
    await server.close();
    engine.dispose();
    model.dispose();
  }
});

test("an episode's conversation extends the previous one when it repeats it (JSON-string and object arguments compare equal)", () => {
  const prev = [
    { role: "user", content: "q" },
    { role: "assistant", content: "", tool_calls: [{ id: "call_0", type: "function", function: { name: "calculator", arguments: '{"expression": "1+1"}' } }] },
  ];
  const sent = [prev[0]!, { role: "assistant", content: null as unknown as string, tool_calls: [{ id: "x", type: "function", function: { name: "calculator", arguments: { expression: "1+1" } } }] }, { role: "tool", content: "2" }];
  assert.equal(extendsConversation(prev, sent), true);
  assert.equal(extendsConversation(prev, [prev[0]!, { role: "assistant", content: "other" }, { role: "tool", content: "2" }]), false);
  assert.equal(extendsConversation(prev, prev), false, "no new message: not an extension");
});
