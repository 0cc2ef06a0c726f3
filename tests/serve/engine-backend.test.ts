// EngineBackend end to end: the real engine on a tiny checkpoint, served over HTTP, queried with
// the `openai` client. Token ids and logprobs in the responses must equal what the engine
// produces for the same prompt ids and seed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { torch } from "../../src/torch/index.ts";
import { loadPretrained, Tokenizer, type CausalLM } from "../../src/models/index.ts";
import { GenerationEngine, type Completion } from "../../src/generation/index.ts";
import { createServer, EngineBackend, type RunningServer } from "../../src/serve/index.ts";

torch.setNumThreads(1);

type WithIds = { prompt_token_ids: number[]; choices: Array<{ token_ids: number[] }> };

describe("EngineBackend over the real engine (tests/fixtures/models/qwen3 + the tiny tokenizer)", () => {
  const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
  let model: CausalLM;
  let engine: GenerationEngine;
  let server: RunningServer;
  let client: OpenAI;
  const messages = [
    { role: "system" as const, content: "You add numbers." },
    { role: "user" as const, content: "What is 12+30?" },
  ];
  before(async () => {
    model = loadPretrained("tests/fixtures/models/qwen3");
    engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: 96 });
    server = await createServer({ backend: new EngineBackend({ engine, modelName: "tiny-qwen3" }) });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await server.close();
    engine.dispose();
    model.dispose();
  });

  const promptIds = () => tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true });

  test("chat: token ids, logprobs and top logprobs equal the engine's for the same seed (n = 2)", async () => {
    const r = await client.chat.completions.create({ model: "tiny-qwen3", messages, seed: 1234, temperature: 0.9, top_p: 0.95, max_tokens: 16, n: 2, logprobs: true, top_logprobs: 3 });
    const expected = await engine.generate([promptIds()], { seed: 1234, temperature: 0.9, topP: 0.95, maxTokens: 16, n: 2, logprobs: 3 });
    const ids = r as unknown as WithIds;
    assert.deepEqual(ids.prompt_token_ids, promptIds());
    assert.equal(r.choices.length, 2);
    r.choices.forEach((choice, i) => {
      const c = expected[i]!;
      assert.deepEqual(ids.choices[i]!.token_ids, c.tokenIds, `choice ${i} ids`);
      assert.deepEqual(choice.logprobs!.content!.map((x) => x.logprob), c.logprobs, `choice ${i} logprobs`);
      assert.deepEqual(
        choice.logprobs!.content!.map((x) => x.top_logprobs.map((t) => t.logprob)),
        c.topLogprobs!.map((t) => t.logprobs),
      );
      assert.deepEqual(choice.logprobs!.content!.map((x) => x.token), c.tokenIds.map((t) => tokenizer.decode([t])));
      assert.equal(choice.message.content, c.text);
      assert.equal(choice.finish_reason, c.stopReason === "length" ? "length" : "stop");
    });
    assert.notDeepEqual(expected[0]!.tokenIds, expected[1]!.tokenIds, "the two samples differ");
  });

  test("concurrent requests are batched into one engine call and each still matches its solo run", async () => {
    const generate = engine.generate.bind(engine);
    const callSizes: number[] = [];
    engine.generate = (reqs, params) => (callSizes.push(reqs.length), generate(reqs, params));
    try {
      const seeds = [1, 2, 3, 4, 5];
      const results = await Promise.all(seeds.map((seed) => client.chat.completions.create({ model: "tiny-qwen3", messages, seed, max_tokens: 12 })));
      const expected: Completion[] = [];
      for (const seed of seeds) expected.push(...(await generate([promptIds()], { seed, maxTokens: 12 })));
      assert.deepEqual(results.map((r) => (r as unknown as WithIds).choices[0]!.token_ids), expected.map((c) => c.tokenIds));
      assert.equal(callSizes.reduce((a, b) => a + b, 0), seeds.length);
      assert.ok(callSizes.some((n) => n > 1), `expected a batched engine call, got sizes ${callSizes}`);
    } finally {
      engine.generate = generate;
    }
  });

  test("streaming: the deltas add up to the text, and the token ids to the engine's", async () => {
    const stream = await client.chat.completions.create({ model: "tiny-qwen3", messages, seed: 99, max_tokens: 24, stream: true, stream_options: { include_usage: true } });
    let text = "";
    const ids: number[] = [];
    let chunks = 0;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      chunks++;
      text += c.delta.content ?? "";
      ids.push(...((c as unknown as { token_ids?: number[] }).token_ids ?? []));
    }
    const [expected] = await engine.generate([promptIds()], { seed: 99, maxTokens: 24 });
    assert.deepEqual(ids, expected!.tokenIds);
    assert.equal(text, expected!.text);
    assert.ok(chunks > 3, `streamed in ${chunks} chunks`);
  });

  test("completions with token ids; a too-long prompt is a 400 with context_length_exceeded", async () => {
    const prompt = tokenizer.encode("1+2=");
    const r = await client.completions.create({ model: "tiny-qwen3", prompt, seed: 3, max_tokens: 10, logprobs: 0 });
    const [expected] = await engine.generate([prompt], { seed: 3, maxTokens: 10 });
    assert.deepEqual((r as unknown as WithIds).choices[0]!.token_ids, expected!.tokenIds);
    assert.deepEqual(r.choices[0]!.logprobs!.token_logprobs, expected!.logprobs);
    await assert.rejects(client.completions.create({ model: "tiny-qwen3", prompt: Array(200).fill(10) }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, "context_length_exceeded");
      assert.match(err.message, /prompt has 200 tokens/);
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: "tiny-qwen3", messages, n: 9 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, "n");
      return true;
    });
  });
});

describe("EngineBackend cancellation", () => {
  test("a client that disconnects mid-stream stops the engine call (its batch has no one else)", async () => {
    const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
    const model = loadPretrained("tests/fixtures/models/qwen3");
    const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 4, maxSeqLen: 128 });
    const server = await createServer({ backend: new EngineBackend({ engine, modelName: "tiny" }) });
    let generated = 0;
    const generate = engine.generate.bind(engine);
    let call: Promise<unknown> | undefined;
    engine.generate = (reqs, params) => {
      const counted = reqs.map((r) => {
        const req = r as { prompt: number[]; onToken?: (s: number, t: number) => void };
        return { ...req, onToken: (s: number, t: number) => (generated++, req.onToken?.(s, t)) };
      });
      const p = generate(counted, params);
      call = p.catch((e) => e);
      return p;
    };
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: "tiny", messages: [{ role: "user", content: "go" }], max_tokens: 110, ignore_eos: true, stream: true } as never,
        { signal: controller.signal },
      );
      let chunks = 0;
      try {
        // The openai client ends the iteration quietly when its request is aborted.
        for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) if (chunk.choices[0]?.delta.content && ++chunks === 2) controller.abort();
      } catch {
        /* either way */
      }
      assert.equal(chunks, 2);
      const err = await call;
      assert.ok(err instanceof Error, "the engine call was stopped");
      assert.ok(generated < 100, `generated ${generated} of 110 tokens`);
      assert.equal(engine.cache.numFree, 4);
      // The engine still serves afterwards.
      const r = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "again" }], max_tokens: 3 });
      assert.ok(r.choices[0]!.finish_reason);
    } finally {
      engine.generate = generate;
      await server.close();
      engine.dispose();
      model.dispose();
    }
  });
});
