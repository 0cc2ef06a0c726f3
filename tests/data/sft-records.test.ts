import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatasetFieldError, isChatRecord, parseSftRecord, readSftJsonl, toChatRecord } from "../../src/data/index.ts";

test("parses both record shapes and drops extra fields", () => {
  assert.deepEqual(parseSftRecord({ prompt: "p", response: "r", extra: 1 }), { prompt: "p", response: "r" });
  const chat = parseSftRecord({ messages: [{ role: "user", content: "hi", name: "x" }, { role: "assistant", content: "yo" }] });
  assert.ok(isChatRecord(chat));
  assert.deepEqual(chat, { messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "yo" }] });
});

test("validation errors name the source and field", () => {
  const fails = (value: unknown, pattern: RegExp) =>
    assert.throws(() => parseSftRecord(value, "f.jsonl:9"), (e: unknown) => e instanceof DatasetFieldError && pattern.test(e.message));
  fails([], /^f\.jsonl:9: field '\(record\)'/);
  fails({ prompt: "p" }, /field 'response' must be a non-empty string/);
  fails({ prompt: 1, response: "r" }, /field 'prompt' must be a string/);
  fails({ messages: [] }, /field 'messages'/);
  fails({ messages: [{ role: "bot", content: "x" }] }, /field 'messages\[0\]\.role'/);
  fails({ messages: [{ role: "user", content: 3 }] }, /field 'messages\[0\]\.content'/);
  fails({ messages: [{ role: "user", content: "only a question" }] }, /at least one assistant message/);
});

test("toChatRecord converts prompt/response and adds a system prompt once", () => {
  assert.deepEqual(toChatRecord({ prompt: "p", response: "r" }, { systemPrompt: "s" }), {
    messages: [
      { role: "system", content: "s" },
      { role: "user", content: "p" },
      { role: "assistant", content: "r" },
    ],
  });
  const withSystem = { messages: [{ role: "system" as const, content: "own" }, { role: "assistant" as const, content: "a" }] };
  assert.deepEqual(toChatRecord(withSystem, { systemPrompt: "s" }), withSystem);
});

test("readSftJsonl validates each line with file:line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "forge-sft-"));
  try {
    const file = join(dir, "sft.jsonl");
    writeFileSync(file, `${JSON.stringify({ prompt: "a", response: "b" })}\n${JSON.stringify({ prompt: "a" })}\n`);
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const r of readSftJsonl(file)) seen.push(r);
    }, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: field 'response'`));
    assert.deepEqual(seen, [{ prompt: "a", response: "b" }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tool-use records keep tool_calls, tool_call_id/name on tool messages, and the record's tools", () => {
  const tools = [{ type: "function", function: { name: "calculator", parameters: { type: "object" } } }];
  const calls = [{ id: "c0", type: "function", function: { name: "calculator", arguments: '{"expression": "2*3"}' } }];
  const r = parseSftRecord({
    tools,
    messages: [
      { role: "user", content: "2*3?", tool_call_id: "dropped" },
      { role: "assistant", content: null, tool_calls: calls },
      { role: "tool", tool_call_id: "c0", name: "calculator", content: "6", extra: 1 },
      { role: "assistant", content: "<answer>6</answer>" },
    ],
  });
  assert.deepEqual(r, {
    tools,
    messages: [
      { role: "user", content: "2*3?" },
      { role: "assistant", content: "", tool_calls: calls },
      { role: "tool", tool_call_id: "c0", name: "calculator", content: "6" },
      { role: "assistant", content: "<answer>6</answer>" },
    ],
  });
  assert.deepEqual(toChatRecord(r, { systemPrompt: "s" }).tools, tools);
  assert.throws(() => parseSftRecord({ messages: [{ role: "user", content: "x", tool_calls: [] }, { role: "assistant", content: "y" }] }), /messages\[0\]\.tool_calls/);
  assert.throws(() => parseSftRecord({ messages: [{ role: "assistant", content: null }] }), /messages\[0\]\.content/);
  assert.throws(() => parseSftRecord({ tools: "calculator", messages: [{ role: "assistant", content: "y" }] }), /field 'tools'/);
});
