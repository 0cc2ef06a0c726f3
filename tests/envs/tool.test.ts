import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { callTool, EnvOptionError, tool } from "../../src/envs/index.ts";

const add = tool({
  name: "add",
  description: "Adds two integers.",
  parameters: z.object({ a: z.number().int().describe("first"), b: z.number().int(), note: z.string().optional() }),
  execute: ({ a, b }) => String(a + b),
});

test("spec: OpenAI function shape with zod's JSON schema, without $schema or safe-integer noise", () => {
  assert.deepEqual(add.spec, {
    type: "function",
    function: {
      name: "add",
      description: "Adds two integers.",
      parameters: {
        type: "object",
        properties: { a: { type: "integer", description: "first" }, b: { type: "integer" }, note: { type: "string" } },
        required: ["a", "b"],
      },
    },
  });
  // Plain JSON: survives a round trip unchanged (what goes to templates and HTTP).
  assert.deepEqual(JSON.parse(JSON.stringify(add.spec)), add.spec);
});

test("call: valid arguments run execute; non-string results are sent as JSON", async () => {
  assert.deepEqual(await add.call('{"a": 2, "b": 40}'), { content: "42" });
  const obj = tool({ name: "obj", parameters: z.object({}), execute: async () => ({ ok: true, n: 1 }) });
  assert.deepEqual(await obj.call(""), { content: '{"ok":true,"n":1}' });
});

test("call: bad JSON becomes an error message, not an exception", async () => {
  const r = await add.call('{"a": 2, "b": ');
  assert.ok(r.error);
  assert.match(r.content, /^error: arguments of add are not valid JSON/);
});

test("call: schema violations name each bad field", async () => {
  const r = await add.call('{"a": "two", "b": 1.5}');
  assert.ok(r.error);
  assert.match(r.content, /invalid arguments for add/);
  assert.match(r.content, /a: expected number, received string/);
  assert.match(r.content, /b: expected int/);
  const missing = await add.call('{"a": 1}');
  assert.match(missing.content, /b: expected number, received undefined/);
});

test("call: a throwing or rejecting execute becomes an error message", async () => {
  const sync = tool({ name: "boom", parameters: z.object({}), execute: () => { throw new Error("kaput"); } });
  const r1 = await sync.call("{}");
  assert.equal(r1.content, "error: boom failed: kaput");
  const rejecting = tool({ name: "boom2", parameters: z.object({}), execute: async () => Promise.reject(new TypeError("nope")) });
  assert.equal((await rejecting.call("{}")).content, "error: boom2 failed: nope");
});

test("call: a tool that hangs times out (per tool and per call) and sees its signal abort", async () => {
  let aborted = false;
  const slow = tool({
    name: "slow",
    parameters: z.object({}),
    timeoutMs: 30,
    execute: (_args, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener("abort", () => { aborted = true; });
        setTimeout(() => resolve("late"), 2000).unref();
      }),
  });
  const r = await slow.call("{}");
  assert.equal(r.content, "error: slow timed out after 30 ms");
  assert.ok(aborted);
  assert.equal((await slow.call("{}", { timeoutMs: 5 })).content, "error: slow timed out after 5 ms");
});

test("callTool: unknown names list the tools there are; object arguments are accepted", async () => {
  const r = await callTool([add], { id: "c0", type: "function", function: { name: "mul", arguments: "{}" } });
  assert.equal(r.content, 'error: unknown tool "mul"; available: add');
  const ok = await callTool([add], { id: "c1", type: "function", function: { name: "add", arguments: { a: 1, b: 2 } as unknown as string } });
  assert.equal(ok.content, "3");
});

test("tool(): definition mistakes throw at once, naming the option", () => {
  assert.throws(() => tool({ name: "has space", parameters: z.object({}), execute: () => "" }), (e: unknown) => e instanceof EnvOptionError && /'name'/.test(e.message));
  assert.throws(() => tool({ name: "x", parameters: z.string() as never, execute: () => "" }), /'parameters'/);
  assert.throws(() => tool({ name: "x", parameters: z.object({}), execute: () => "", timeoutMs: 0 }), /'timeoutMs'/);
});
