// The Vercel AI SDK's OpenAI-compatible provider as the client: text, streaming, and a
// multi-step tool loop (the SDK executes the tool and sends its result back).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { createServer, type ChatRequest, type RunningServer } from "../../src/serve/index.ts";
import { ScriptedBackend } from "./scripted-backend.ts";

describe("Vercel AI SDK (@ai-sdk/openai-compatible) against the server", () => {
  let backend: ScriptedBackend;
  let server: RunningServer;
  let provider: ReturnType<typeof createOpenAICompatible>;
  before(async () => {
    backend = new ScriptedBackend();
    server = await createServer({ backend });
    provider = createOpenAICompatible({ name: "forge", baseURL: `${server.url}/episodes/agent-1/v1`, includeUsage: true });
  });
  after(() => server.close());

  // The "model": call the calculator until a tool result is in the conversation, then answer with it.
  const agentReplies = (req: ChatRequest): string[] => {
    const result = req.messages.find((m) => m.role === "tool");
    if (result) return [`The product is ${String(result.content).replace(/"/g, "")}.`];
    return ['Computing.\n<tool_call>\n{"name": "calculator", "arguments": {"a": 123, "b": 456}}\n</tool_call>'];
  };
  const calculator = tool({
    description: "Multiplies two integers",
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    execute: async ({ a, b }) => String(a * b),
  });

  test("generateText: plain text with usage", async () => {
    backend.respond = undefined;
    backend.replies = ["Hi from the server."];
    const r = await generateText({ model: provider.chatModel("scripted-qwen3"), prompt: "Say hi" });
    assert.equal(r.text, "Hi from the server.");
    assert.equal(r.finishReason, "stop");
    assert.equal(r.usage.outputTokens, backend.tokenizer.encode("Hi from the server.").length + 1);
    assert.equal(backend.calls.at(-1)!.req.episodeId, "agent-1");
  });

  test("generateText with a zod tool: the SDK runs the tool call and the model answers from its result", async () => {
    backend.respond = (req) => agentReplies(req as ChatRequest);
    const before = backend.calls.length;
    const r = await generateText({ model: provider.chatModel("scripted-qwen3"), prompt: "What is 123*456?", tools: { calculator }, stopWhen: stepCountIs(3) });
    assert.equal(r.steps.length, 2);
    assert.deepEqual(r.steps[0]!.toolCalls.map((c) => [c.toolName, c.input]), [["calculator", { a: 123, b: 456 }]]);
    assert.equal(r.steps[0]!.finishReason, "tool-calls");
    assert.equal(r.text, "The product is 56088.");
    const second = backend.calls[before + 1]!;
    const rendered = backend.tokenizer.decode(second.promptIds);
    assert.ok(rendered.includes('<tool_call>\n{"name": "calculator", "arguments": {"a": 123, "b": 456}}\n</tool_call>'), rendered);
    assert.match(rendered, /<tool_response>\n"?56088"?\n<\/tool_response>/);
    assert.ok((second.req as ChatRequest).tools?.some((t) => t.function.name === "calculator"));
  });

  test("streamText: text deltas and a streamed tool call", async () => {
    backend.respond = undefined;
    backend.replies = ["Streaming through the AI SDK works."];
    const s = streamText({ model: provider.chatModel("scripted-qwen3"), prompt: "stream" });
    const deltas: string[] = [];
    for await (const d of s.textStream) deltas.push(d);
    assert.equal(deltas.join(""), "Streaming through the AI SDK works.");
    assert.ok(deltas.length > 3, `${deltas.length} deltas`);

    backend.respond = (req) => agentReplies(req as ChatRequest);
    const t = streamText({ model: provider.chatModel("scripted-qwen3"), prompt: "What is 123*456?", tools: { calculator }, stopWhen: stepCountIs(3) });
    assert.equal(await t.text, "The product is 56088.");
    const steps = await t.steps;
    assert.deepEqual(steps[0]!.toolCalls.map((c) => c.input), [{ a: 123, b: 456 }]);
    assert.deepEqual(steps[0]!.toolResults.map((c) => c.output), ["56088"]);
  });
});
