import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer, type ChatMessage } from "../../src/models/index.ts";
import { buildTinyTokenizer, tinyCharacters, writeTinyTokenizer } from "../../src/models/tokenizer/tiny-tokenizer.ts";

const agentDir = fileURLToPath(new URL("../../assets/tiny-agent-tokenizer", import.meta.url));
const baseDir = fileURLToPath(new URL("../../assets/tiny-tokenizer", import.meta.url));
const tok = Tokenizer.fromPretrained(agentDir);
const tools = [{ type: "function", function: { name: "calculator", description: "d", parameters: { type: "object" } } }];
const conversation: ChatMessage[] = [
  { role: "user", content: "What is 123*45?" },
  { role: "assistant", content: "", tool_calls: [{ id: "c0", type: "function", function: { name: "calculator", arguments: '{"expression": "123*45"}' } }] },
  { role: "tool", tool_call_id: "c0", name: "calculator", content: "5535" },
  { role: "assistant", content: "<answer>5535</answer>" },
];

test("shipped agent tokenizer equals a fresh generation (regenerate: npx tsx scripts/make-tiny-tokenizer.ts --agent)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-agent-"));
  try {
    writeTinyTokenizer(dir, { variant: "agent" });
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) assert.equal(readFileSync(join(dir, f), "utf8"), readFileSync(join(agentDir, f), "utf8"), f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the agent variant extends the base ids with <tool_call> and </tool_call>, one token each", () => {
  const base = Tokenizer.fromPretrained(baseDir);
  assert.equal(tok.vocabSize, base.vocabSize + 2);
  const text = "What is 123*45? {\"a\": 1}";
  assert.deepEqual(tok.encode(text), base.encode(text));
  assert.deepEqual(tok.encode("<tool_call></tool_call>"), [base.vocabSize, base.vocabSize + 1]);
  assert.equal(tok.decode(tok.encode("<tool_call>x</tool_call>"), { skipSpecialTokens: true }), "<tool_call>x</tool_call>");
  assert.throws(() => buildTinyTokenizer({ variant: "big" as never }), /variant/);
});

test("renders tools as names, tool calls as Hermes JSON, tool results on their own line; nothing unknown", () => {
  const text = tok.applyChatTemplate(conversation, { tools });
  assert.equal(
    text,
    "tools: calculator<|eos|>\nuser: What is 123*45?<|eos|>\n" +
      'assistant: <tool_call>{"name": "calculator", "arguments": {"expression": "123*45"}}</tool_call><|eos|>\n' +
      "tool: 5535<|eos|>\nassistant: <answer>5535</answer><|eos|>\n",
  );
  const ids = tok.encode(text);
  assert.ok(!ids.includes(tok.tokenToId("<|unk|>")!), "every character is in the vocab");
  assert.ok(ids.length < 160, `short enough for 256 positions: ${ids.length}`);
  assert.ok(['"', "{", "}", ":", ",", "_"].every((c) => tinyCharacters.includes(c)));
});

test("arguments as an object (after toTemplateMessages) or a flat HF call render the same", () => {
  const asObject = structuredClone(conversation);
  (asObject[1]!.tool_calls as { function: { arguments: unknown } }[])[0]!.function.arguments = { expression: "123*45" };
  const flat = structuredClone(conversation);
  flat[1]!.tool_calls = [{ name: "calculator", arguments: { expression: "123*45" } }];
  const want = tok.applyChatTemplate(conversation, { tools });
  assert.equal(tok.applyChatTemplate(asObject, { tools }), want);
  assert.equal(tok.applyChatTemplate(flat, { tools }), want);
  assert.equal(tok.applyChatTemplate([{ role: "user", content: "hi" }]), "user: hi<|eos|>\n", "no tools line without tools");
});

test("multi-turn renders are prefix extensions at every message boundary", () => {
  const full = tok.applyChatTemplate(conversation, { tools, tokenize: true });
  for (let k = 0; k <= conversation.length; k++) {
    const part = tok.applyChatTemplate(conversation.slice(0, k), { tools, tokenize: true });
    assert.deepEqual(full.slice(0, part.length), part, `k=${k}`);
    if (k < conversation.length && conversation[k]!.role === "assistant") {
      const prompt = tok.applyChatTemplate(conversation.slice(0, k), { tools, addGenerationPrompt: true, tokenize: true });
      assert.deepEqual(full.slice(0, prompt.length), prompt, `generation prompt before message ${k}`);
    }
  }
});
