// The OpenAI-compatible server against the real `openai` client, with a scripted backend whose
// replies (and so tool calls, stop strings, multi-byte text) are known exactly.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { toTemplateMessages } from "../../src/models/index.ts";
import { createServer, type ChatRequest, type RunningServer } from "../../src/serve/index.ts";
import { ScriptedBackend } from "./scripted-backend.ts";

const calculator = {
  type: "function" as const,
  function: { name: "calculator", description: "Evaluates arithmetic", parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] } },
};
const toolCallText = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "123*456"}}\n</tool_call>';

describe("OpenAI-compatible server (scripted backend, openai client)", () => {
  let backend: ScriptedBackend;
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    backend = new ScriptedBackend();
    server = await createServer({ backend });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(() => server.close());

  test("non-streaming chat: content, token ids, prompt ids, logprobs and usage", async () => {
    backend.replies = ["The answer is 4."];
    const messages = [{ role: "user" as const, content: "What is 2+2?" }];
    const r = await client.chat.completions.create({ model: "scripted-qwen3", messages, logprobs: true, top_logprobs: 3, seed: 5, temperature: 0.7, max_tokens: 50 });
    const tok = backend.tokenizer;
    const expectedIds = [...tok.encode("The answer is 4."), tok.eosTokenId];
    const extra = r as unknown as { prompt_token_ids: number[]; choices: Array<{ token_ids: number[] }> };
    assert.equal(r.object, "chat.completion");
    assert.equal(r.model, "scripted-qwen3");
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.choices[0]!.message.role, "assistant");
    assert.equal(r.choices[0]!.message.content, "The answer is 4.");
    assert.equal(r.choices[0]!.finish_reason, "stop");
    assert.deepEqual(extra.choices[0]!.token_ids, expectedIds);
    assert.deepEqual(extra.prompt_token_ids, tok.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true }));
    assert.deepEqual(r.usage, { prompt_tokens: extra.prompt_token_ids.length, completion_tokens: expectedIds.length, total_tokens: extra.prompt_token_ids.length + expectedIds.length });
    const lp = r.choices[0]!.logprobs!.content!;
    assert.equal(lp.length, expectedIds.length);
    assert.deepEqual(lp.map((x) => x.logprob), expectedIds.map((_, k) => -0.125 * (k + 1)));
    assert.equal(lp[0]!.token, "The");
    assert.deepEqual(lp[0]!.bytes, [...Buffer.from("The")]);
    assert.equal(lp.at(-1)!.token, "<|im_end|>");
    assert.equal(lp[1]!.top_logprobs.length, 3);
    assert.equal(lp[1]!.top_logprobs[0]!.token, " answer");
    // Sampling parameters reach the backend translated.
    const sampling = (backend.calls.at(-1)!.req as ChatRequest).sampling;
    assert.deepEqual(sampling, { temperature: 0.7, seed: 5, maxTokens: 50, logprobs: 3 });
  });

  test("tool calls: parsed into message.tool_calls; a follow-up with the tool result renders through the template", async () => {
    backend.replies = [`I'll compute it.\n${toolCallText}`];
    const user = { role: "user" as const, content: "What is 123*456?" };
    const r = await client.chat.completions.create({ model: "scripted-qwen3", messages: [user], tools: [calculator] });
    const msg = r.choices[0]!.message;
    assert.equal(r.choices[0]!.finish_reason, "tool_calls");
    assert.equal(msg.content, "I'll compute it.");
    assert.equal(msg.tool_calls!.length, 1);
    const call = msg.tool_calls![0]!;
    assert.equal(call.type, "function");
    assert.equal(call.id, "call_0_0");
    assert.equal(call.type === "function" && call.function.name, "calculator");
    assert.deepEqual(call.type === "function" && JSON.parse(call.function.arguments), { expression: "123*456" });
    const promptText = backend.tokenizer.decode(backend.calls.at(-1)!.promptIds);
    assert.ok(promptText.includes('<tools>\n{"type": "function", "function": {"name": "calculator"'), "tools are rendered into the prompt");

    backend.replies = ["123*456 = 56088."];
    const followUp = await client.chat.completions.create({
      model: "scripted-qwen3",
      tools: [calculator],
      messages: [user, msg, { role: "tool", tool_call_id: call.id, content: "56088" }],
    });
    assert.equal(followUp.choices[0]!.message.content, "123*456 = 56088.");
    assert.equal(followUp.choices[0]!.message.tool_calls, undefined);
    const last = backend.calls.at(-1)!;
    const rendered = backend.tokenizer.decode(last.promptIds);
    assert.ok(rendered.includes('<|im_start|>assistant\nI\'ll compute it.\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "123*456"}}\n</tool_call><|im_end|>'), rendered);
    assert.ok(rendered.includes("<|im_start|>user\n<tool_response>\n56088\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), rendered);
    assert.deepEqual(
      last.promptIds,
      backend.tokenizer.applyChatTemplate(toTemplateMessages((last.req as ChatRequest).messages), { tools: [calculator], addGenerationPrompt: true, tokenize: true }),
    );
  });

  test("tool_choice 'none' drops the tools (nothing rendered, nothing parsed); a named choice renders only that tool", async () => {
    backend.replies = [toolCallText];
    const other = { type: "function" as const, function: { name: "weather", parameters: { type: "object", properties: {} } } };
    const none = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "hi" }], tools: [calculator], tool_choice: "none" });
    assert.equal(none.choices[0]!.message.content, toolCallText);
    assert.equal(none.choices[0]!.finish_reason, "stop");
    assert.equal((backend.calls.at(-1)!.req as ChatRequest).tools, undefined);
    const named = await client.chat.completions.create({
      model: "scripted-qwen3",
      messages: [{ role: "user", content: "hi" }],
      tools: [other, calculator],
      tool_choice: { type: "function", function: { name: "calculator" } },
    });
    assert.equal(named.choices[0]!.message.tool_calls!.length, 1);
    assert.deepEqual((backend.calls.at(-1)!.req as ChatRequest).tools!.map((t) => t.function.name), ["calculator"]);
  });

  test("a malformed tool call stays in the content, no tool_calls", async () => {
    backend.replies = ['<tool_call>\n{"name": "calculator", "arguments": {"expression": 1+}}\n</tool_call>'];
    const r = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "hi" }], tools: [calculator] });
    assert.equal(r.choices[0]!.message.tool_calls, undefined);
    assert.equal(r.choices[0]!.finish_reason, "stop");
    assert.equal(r.choices[0]!.message.content, backend.replies[0]);
  });

  test("streaming chat: chunks arrive while generating, add up to the non-streaming reply, end with usage", async () => {
    const text = "Streaming works: naïve café 東京 🙂 done.";
    backend.replies = [text];
    backend.tokenDelayMs = 3;
    const stream = await client.chat.completions.create({
      model: "scripted-qwen3",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
    });
    let content = "";
    let firstContentAt = 0;
    let contentChunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    const ids: number[] = [];
    let logprobs = 0;
    let role = "";
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) {
        content += c.delta.content;
        contentChunks++;
        firstContentAt ||= performance.now();
        assert.ok(!c.delta.content.includes("\uFFFD"), "no split characters");
      }
      ids.push(...((c as unknown as { token_ids?: number[] }).token_ids ?? []));
      logprobs += c.logprobs?.content?.length ?? 0;
      if (c.finish_reason) finish = c.finish_reason;
    }
    backend.tokenDelayMs = 1;
    const tok = backend.tokenizer;
    assert.equal(role, "assistant");
    assert.equal(content, text);
    assert.ok(contentChunks > 5, `expected many content chunks, got ${contentChunks}`);
    assert.ok(firstContentAt < backend.finishedAt.at(-1)!, "the first chunk arrived before generation ended");
    assert.equal(finish, "stop");
    assert.deepEqual(ids, [...tok.encode(text), tok.eosTokenId]);
    assert.equal(logprobs, ids.length);
    assert.equal(usage!.completion_tokens, ids.length);
  });

  test("streaming withholds stop-string prefixes and streams tool calls as delta.tool_calls", async () => {
    backend.replies = ["Value: 12 ENDING here"];
    const stream = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], stream: true, stop: ["END"] });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    assert.equal(pieces.join(""), "Value: 12 ");
    const nonStream = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], stop: "END" });
    assert.equal(nonStream.choices[0]!.message.content, "Value: 12 ");

    backend.replies = [`Let me check.\n${toolCallText}\n${toolCallText.replace("123*456", "7+8")}`];
    const s2 = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], tools: [calculator], stream: true });
    let content = "";
    const calls: Array<{ index: number; id?: string; name?: string; args?: string }> = [];
    let finish: string | null = null;
    for await (const chunk of s2) {
      const d = chunk.choices[0]?.delta;
      if (d?.content) content += d.content;
      for (const tc of d?.tool_calls ?? []) calls.push({ index: tc.index, id: tc.id, name: tc.function?.name, args: tc.function?.arguments });
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    }
    assert.equal(content, "Let me check.");
    assert.ok(!content.includes("<"), "no tool-call markup leaks into the content");
    assert.deepEqual(calls, [
      { index: 0, id: "call_0_0", name: "calculator", args: '{"expression":"123*456"}' },
      { index: 1, id: "call_0_1", name: "calculator", args: '{"expression":"7+8"}' },
    ]);
    assert.equal(finish, "tool_calls");
    // The client's own stream accumulator agrees.
    const helper = client.chat.completions.stream({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], tools: [calculator] });
    const final = await helper.finalChatCompletion();
    assert.deepEqual(final.choices[0]!.message.tool_calls!.map((t) => t.type === "function" && t.function.arguments), ['{"expression":"123*456"}', '{"expression":"7+8"}']);
  });

  test("n > 1: one choice per sample, streaming and not", async () => {
    backend.replies = ["first answer", "second, longer answer here", "third"];
    const r = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], n: 3 });
    assert.deepEqual(r.choices.map((c) => [c.index, c.message.content]), [[0, "first answer"], [1, "second, longer answer here"], [2, "third"]]);
    const s = await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], n: 3, stream: true });
    const texts = ["", "", ""];
    const finishes: Array<string | null> = [null, null, null];
    for await (const chunk of s) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? "";
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
      }
    }
    assert.deepEqual(texts, backend.replies);
    assert.deepEqual(finishes, ["stop", "stop", "stop"]);
  });

  test("completions: string and token-id prompts, logprobs, max_tokens → length, streaming", async () => {
    backend.replies = [" world, and more"];
    const tok = backend.tokenizer;
    const r = await client.completions.create({ model: "scripted-qwen3", prompt: "Hello", logprobs: 2, max_tokens: 2 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0]!.text, tok.decode(tok.encode(" world, and more").slice(0, 2)));
    assert.equal(r.choices[0]!.finish_reason, "length");
    assert.equal(r.choices[0]!.logprobs!.tokens!.length, 2);
    assert.equal(Object.keys(r.choices[0]!.logprobs!.top_logprobs![0]!).length, 2);
    assert.deepEqual((r as unknown as { prompt_token_ids: number[] }).prompt_token_ids, tok.encode("Hello"));
    const ids = await client.completions.create({ model: "scripted-qwen3", prompt: [9707, 11], max_tokens: 100 });
    assert.deepEqual((ids as unknown as { prompt_token_ids: number[] }).prompt_token_ids, [9707, 11]);
    assert.equal(ids.choices[0]!.text, " world, and more");
    assert.equal(ids.choices[0]!.finish_reason, "stop");
    const s = await client.completions.create({ model: "scripted-qwen3", prompt: "Hello", stream: true, max_tokens: 100 });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, " world, and more");
  });

  test("/v1/models, /v1/models/<id> and /health", async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models, ["scripted-qwen3"]);
    assert.equal((await client.models.retrieve("scripted-qwen3")).id, "scripted-qwen3");
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
  });

  test("bad requests get OpenAI-shaped 400s naming the field; unknown model is 404", async () => {
    const cases: Array<[Record<string, unknown>, RegExp, string | null]> = [
      [{ model: "scripted-qwen3" }, /'messages' is required/, "messages"],
      [{ messages: [{ role: "wizard", content: "x" }] }, /'messages\[0\]\.role'/, "messages[0].role"],
      [{ messages: [{ role: "user", content: "x" }], temperature: 5 }, /'temperature'/, "temperature"],
      [{ messages: [{ role: "user", content: "x" }], top_logprobs: 2 }, /'top_logprobs' needs 'logprobs': true/, "top_logprobs"],
      [{ messages: [{ role: "user", content: "x" }], n: 0 }, /'n'/, "n"],
      [{ messages: [{ role: "user", content: "x" }], tools: [calculator], tool_choice: { type: "function", function: { name: "nope" } } }, /'nope', which is not in 'tools'/, "tool_choice.function.name"],
      [{ messages: [{ role: "tool", content: "x" }] }, /tool_call_id/, "messages[0].tool_call_id"],
      [{ messages: [{ role: "user", content: "x" }], presence_penalty: 1 }, /presence_penalty/, "presence_penalty"],
      [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, /only text content parts/, "messages[0].content[0]"],
    ];
    for (const [body, message, param] of cases) {
      await assert.rejects(
        client.chat.completions.create({ model: "scripted-qwen3", ...body } as never),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError, `${JSON.stringify(body)} → ${String(err)}`);
          assert.match(err.message, message);
          assert.equal(err.param, param);
          assert.equal(err.type, "invalid_request_error");
          return true;
        },
      );
    }
    await assert.rejects(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.match(err.message, /'gpt-4o' does not exist/);
      assert.equal(err.code, "model_not_found");
      return true;
    });
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    assert.equal(raw.status, 400);
    const body = (await raw.json()) as { error: { message: string; type: string; param: unknown; code: unknown } };
    assert.match(body.error.message, /not valid JSON/);
    assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
    const missing = await fetch(`${server.url}/v2/nothing`);
    assert.equal(missing.status, 404);
  });

  test("episode-prefixed base URLs reach the backend with the episode id; plain /v1 has none", async () => {
    backend.replies = ["ok"];
    const episodeClient = new OpenAI({ baseURL: `${server.url}/episodes/ep-42%2Fa/v1`, apiKey: "unused", maxRetries: 0 });
    await episodeClient.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }] });
    assert.equal(backend.calls.at(-1)!.req.episodeId, "ep-42/a");
    const s = await episodeClient.completions.create({ model: "scripted-qwen3", prompt: "x", stream: true });
    for await (const _ of s) void _;
    assert.equal(backend.calls.at(-1)!.req.episodeId, "ep-42/a");
    assert.equal((await episodeClient.models.list()).data[0]!.id, "scripted-qwen3");
    await client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }] });
    assert.equal(backend.calls.at(-1)!.req.episodeId, undefined);
  });

  test("a client that disconnects aborts its backend call's signal", async () => {
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const controller = new AbortController();
    const before = backend.calls.length;
    const pending = client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }] }, { signal: controller.signal });
    while (backend.calls.length === before) await new Promise((r) => setTimeout(r, 2));
    const signal = backend.calls.at(-1)!.req.signal!;
    controller.abort();
    await assert.rejects(pending);
    while (!signal.aborted) await new Promise((r) => setTimeout(r, 2));
    assert.equal(signal.aborted, true);
    open();
    backend.gate = undefined;
  });
});

describe("server limits", () => {
  test("a full queue answers 429 (RateLimitError); a body over the limit answers 413", async () => {
    const backend = new ScriptedBackend();
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const server = await createServer({ backend, maxConcurrency: 1, maxQueue: 1, maxBodyBytes: 2000 });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }] });
      const first = ask();
      while (backend.calls.length === 0) await new Promise((r) => setTimeout(r, 2));
      const second = ask(); // waits in the queue
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(ask(), (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError, String(err));
        assert.match(err.message, /server busy/);
        assert.equal(err.code, "queue_full");
        return true;
      });
      open();
      assert.equal((await first).choices[0]!.message.content, "Hello there!");
      assert.equal((await second).choices[0]!.message.content, "Hello there!");
      const big = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x".repeat(5000) }] }) });
      assert.equal(big.status, 413);
      assert.match(((await big.json()) as { error: { message: string } }).error.message, /limit is 2000/);
    } finally {
      await server.close();
    }
  });

  test("requestTimeoutMs answers 504 and aborts the backend call", async () => {
    const backend = new ScriptedBackend();
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const server = await createServer({ backend, requestTimeoutMs: 50 });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 504);
      assert.match(err.message, /timed out after 50 ms/);
      return true;
    });
    assert.equal(backend.calls[0]!.req.signal!.aborted, true);
    // The abandoned backend call is tracked: close() waits for it to end.
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, false);
    open();
    await closing;
  });

  test("close() with a request in flight: it completes, then the server stops accepting", async () => {
    const backend = new ScriptedBackend();
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const server = await createServer({ backend });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const inFlight = client.chat.completions.create({ model: "scripted-qwen3", messages: [{ role: "user", content: "x" }], stream: false });
    while (backend.calls.length === 0) await new Promise((r) => setTimeout(r, 2));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(closed, false, "close waits for the in-flight request");
    open();
    const r = await inFlight;
    assert.equal(r.choices[0]!.message.content, "Hello there!");
    await closing;
    await assert.rejects(fetch(`${server.url}/health`), "no longer accepting connections");
  });
});
