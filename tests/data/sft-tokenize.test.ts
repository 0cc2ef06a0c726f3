import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { packExamples, tokenizeSftRecord } from "../../src/data/index.ts";
import { Tokenizer } from "../../src/models/index.ts";

const tok = Tokenizer.fromPretrained(fileURLToPath(new URL("../../assets/tiny-tokenizer", import.meta.url)));

test("prompt-response: loss only on response tokens and EOS", () => {
  const e = tokenizeSftRecord(tok, { prompt: "What is 1+2?", response: "<answer>3</answer>" }, { promptFormat: "raw" });
  const p = tok.encode("What is 1+2?").length;
  assert.deepEqual(e.lossMask.slice(0, p), new Array(p).fill(0));
  assert.ok(e.lossMask.slice(p).every((m) => m === 1));
  assert.equal(e.ids.at(-1), tok.eosTokenId);
  assert.equal(tok.decode(e.ids.slice(p, -1)), "<answer>3</answer>");
});

test("chat records: every assistant turn is trained, nothing else", () => {
  const messages = [
    { role: "user" as const, content: "hi" },
    { role: "assistant" as const, content: "yo" },
    { role: "user" as const, content: "2+2?" },
    { role: "assistant" as const, content: "4" },
  ];
  const e = tokenizeSftRecord(tok, { messages });
  const trained = tok.decode(e.ids.filter((_, i) => e.lossMask[i] === 1), { skipSpecialTokens: true });
  assert.match(trained, /yo/);
  assert.match(trained, /4/);
  assert.doesNotMatch(trained, /hi|2\+2/);
  const chatPrompt = tokenizeSftRecord(tok, { prompt: "2+2?", response: "4" });
  assert.equal(tok.decode(chatPrompt.ids.filter((_, i) => chatPrompt.lossMask[i] === 1), { skipSpecialTokens: true }), "4");
});

test("maxLength cuts and packing keeps examples whole", () => {
  const a = { ids: [1, 2, 3], lossMask: [0, 1, 1] };
  const b = { ids: [4, 5], lossMask: [0, 1] };
  assert.deepEqual(packExamples([a, b, a], 5), [{ ids: [1, 2, 3, 4, 5], lossMask: [0, 1, 1, 0, 1] }, a]);
  assert.equal(tokenizeSftRecord(tok, { prompt: "abc", response: "defgh" }, { promptFormat: "raw", maxLength: 4 }).ids.length, 4);
  assert.throws(() => tokenizeSftRecord(tok, { prompt: "a", response: "b" }, { maxLength: 1 }), /maxLength/);
});

test("tool-use chat records: the template renders tools and tool calls; only assistant turns are trained", () => {
  const agentTok = Tokenizer.fromPretrained(fileURLToPath(new URL("../../assets/tiny-agent-tokenizer", import.meta.url)));
  const tools = [{ type: "function", function: { name: "calculator", parameters: { type: "object" } } }];
  const e = tokenizeSftRecord(agentTok, {
    tools,
    messages: [
      { role: "user", content: "What is 12*3?" },
      { role: "assistant", content: "", tool_calls: [{ id: "c0", type: "function", function: { name: "calculator", arguments: '{"expression": "12*3"}' } }] },
      { role: "tool", tool_call_id: "c0", name: "calculator", content: "36" },
      { role: "assistant", content: "<answer>36</answer>" },
    ],
  });
  const text = agentTok.decode(e.ids);
  assert.ok(text.startsWith("tools: calculator<|eos|>\nuser: What is 12*3?"), text);
  const trained = agentTok.decode(e.ids.filter((_, i) => e.lossMask[i] === 1));
  assert.equal(trained, '<tool_call>{"name": "calculator", "arguments": {"expression": "12*3"}}</tool_call><|eos|>\n<answer>36</answer><|eos|>\n');
});

test("few-shot exchanges come before the prompt in the chat template and are not trained on", () => {
  const record = { prompt: "What is 1+2?", response: "<answer>3</answer>" };
  const plain = tokenizeSftRecord(tok, record, { promptFormat: "chat" });
  const shot = tokenizeSftRecord(tok, record, { promptFormat: "chat", fewShot: [{ user: "What is 3+4?", assistant: "<answer>7</answer>" }] });
  const text = tok.decode(shot.ids);
  assert.ok(text.indexOf("<answer>7</answer>") < text.indexOf("What is 1+2?"), text);
  assert.ok(text.indexOf("What is 3+4?") >= 0);
  assert.ok(shot.ids.length > plain.ids.length);
  // Same trained tokens: the response and EOS only.
  const trained = (e: typeof shot) => e.ids.filter((_, i) => e.lossMask[i] === 1);
  assert.deepEqual(trained(shot), trained(plain));
});
