import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { EnvOptionError, EnvStateError, ToolEnv, tool, toolEnvFactory, type AssistantTurn, type ToolCall } from "../../src/envs/index.ts";

interface Task { prompt: string; target: string }

const log: string[] = [];
const echo = tool({ name: "echo", parameters: z.object({ text: z.string() }), execute: async ({ text }) => { log.push(text); return text.toUpperCase(); } });
const fail = tool({ name: "fail", parameters: z.object({}), execute: () => { throw new Error("broken"); } });

const call = (id: string, name: string, args: unknown): ToolCall => ({ id, type: "function", function: { name, arguments: JSON.stringify(args) } });
const say = (content: string, tool_calls?: ToolCall[]): AssistantTurn => ({ role: "assistant", content, ...(tool_calls ? { tool_calls } : {}) });

function makeEnv(maxTurns = 5) {
  const seen: { answer: string; transcriptLength: number }[] = [];
  const env = new ToolEnv<Task>([echo, fail], {
    maxTurns,
    system: (t) => `solve ${t.target.length}`,
    reward: async (task, answer, transcript) => {
      seen.push({ answer, transcriptLength: transcript.length });
      return answer.includes(task.target) ? 1 : 0;
    },
  });
  return { env, seen };
}

test("reset: [system, user] and the tools' specs", () => {
  const { env } = makeEnv();
  const r = env.reset({ prompt: "say hi", target: "HI" });
  assert.deepEqual(r.messages, [{ role: "system", content: "solve 2" }, { role: "user", content: "say hi" }]);
  assert.deepEqual(r.tools!.map((t) => t.function.name), ["echo", "fail"]);
});

test("a 4-turn episode: tool calls in order, a failing tool and a malformed call become messages, then the answer", async () => {
  log.length = 0;
  const { env, seen } = makeEnv();
  env.reset({ prompt: "say hi", target: "HI" });

  const s1 = await env.step(say("thinking", [call("a", "echo", { text: "h" }), call("b", "echo", { text: "i" })]));
  assert.equal(s1.done, false);
  assert.deepEqual(s1.messages, [
    { role: "tool", tool_call_id: "a", name: "echo", content: "H" },
    { role: "tool", tool_call_id: "b", name: "echo", content: "I" },
  ]);
  assert.deepEqual(log, ["h", "i"]);
  assert.deepEqual(s1.info, { turns: 1, toolCalls: 2, toolErrors: 0 });

  const s2 = await env.step(say("", [call("c", "fail", {}), call("d", "nope", {}), call("e", "echo", { txt: 1 })]));
  assert.equal(s2.done, false);
  assert.equal(s2.messages!.length, 3);
  assert.equal(s2.messages![0]!.content, "error: fail failed: broken");
  assert.match(s2.messages![1]!.content, /unknown tool "nope"; available: echo, fail/);
  assert.match(s2.messages![2]!.content, /text: expected string/);
  assert.deepEqual(s2.info, { turns: 2, toolCalls: 5, toolErrors: 3 });

  const s3 = await env.step({ role: "assistant", content: "", toolCallErrors: [{ raw: "<tool_call>{oops", message: "bad JSON" }] });
  assert.equal(s3.done, false);
  assert.equal(s3.messages!.length, 1);
  assert.equal(s3.messages![0]!.role, "tool");
  assert.match(s3.messages![0]!.content, /malformed tool call: bad JSON/);
  assert.deepEqual(s3.info, { turns: 3, toolCalls: 5, toolErrors: 4 });

  const s4 = await env.step(say("It is HI"));
  assert.equal(s4.done, true);
  assert.equal(s4.reward, 1);
  assert.equal(s4.truncated, undefined);
  assert.deepEqual(s4.info, { turns: 4, toolCalls: 5, toolErrors: 4 });
  // The reward saw the final answer and the whole transcript: system, user, 4 assistant turns, 6 tool messages.
  assert.deepEqual(seen, [{ answer: "It is HI", transcriptLength: 12 }]);
  assert.equal(env.transcript.filter((m) => m.role === "assistant").length, 4);
  assert.ok(env.transcript.every((m) => !("toolCallErrors" in m)));

  await assert.rejects(async () => env.step(say("again")), EnvStateError);
});

test("maxTurns: the last allowed turn that still calls a tool ends the episode, truncated, scored on its content", async () => {
  const { env, seen } = makeEnv(2);
  env.reset({ prompt: "p", target: "HI" });
  assert.equal((await env.step(say("", [call("a", "echo", { text: "x" })]))).done, false);
  const last = await env.step(say("maybe HI", [call("b", "echo", { text: "y" })]));
  assert.equal(last.done, true);
  assert.equal(last.truncated, true);
  assert.equal(last.reward, 1);
  assert.equal(last.messages, undefined); // the last calls are not run
  assert.equal(seen[0]!.answer, "maybe HI");

  env.reset({ prompt: "p", target: "HI" });
  await env.step(say("", [call("a", "echo", { text: "x" })]));
  const wrong = await env.step(say("", [call("b", "echo", { text: "y" })]));
  assert.deepEqual([wrong.done, wrong.truncated, wrong.reward], [true, true, 0]);
});

test("reset starts a fresh episode; the factory makes independent environments", async () => {
  const make = toolEnvFactory<Task>([echo], { maxTurns: 3, reward: (t, a) => (a === t.target ? 1 : 0) });
  const e1 = make();
  const e2 = make();
  assert.notEqual(e1, e2);
  await e1.reset({ prompt: "a", target: "x" });
  await e2.reset({ prompt: "b", target: "y" });
  const r1 = await e1.step(say("x"));
  const r2 = await e2.step(say("x"));
  assert.deepEqual([r1.reward, r2.reward], [1, 0]);
});

test("default prompt: task.prompt or a string task; options are checked", async () => {
  const env = new ToolEnv<string | number>([], { maxTurns: 1, reward: () => 0 });
  assert.deepEqual(env.reset("hello").messages, [{ role: "user", content: "hello" }]);
  assert.equal(env.reset("hello").tools, undefined);
  assert.throws(() => env.reset(5), (e: unknown) => e instanceof EnvOptionError && /'prompt'/.test(e.message));
  assert.throws(() => new ToolEnv([], { maxTurns: 0, reward: () => 0 }), /'maxTurns'/);
  assert.throws(() => new ToolEnv([echo, echo], { maxTurns: 1, reward: () => 0 }), /distinct names/);
  await assert.rejects(async () => new ToolEnv([], { maxTurns: 1, reward: () => 0 }).step(say("x")), EnvStateError);
});

test("long tool results are cut to maxToolMessageChars", async () => {
  const env = new ToolEnv<string>([echo], { maxTurns: 3, maxToolMessageChars: 4, reward: () => 0 });
  env.reset("p");
  const s = await env.step(say("", [call("a", "echo", { text: "abcdefgh" })]));
  assert.equal(s.messages![0]!.content, "ABCD");
});
