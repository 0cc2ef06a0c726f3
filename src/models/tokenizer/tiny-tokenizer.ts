/**
 * A character-level tokenizer for the built-in arithmetic task, written as real Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` files so the same `Tokenizer` class (and Python's
 * `transformers`) loads it. One token per character keeps the default model's embedding tiny.
 *
 * Encoding: a BPE model with no merges splits text into characters; `Fuse` joins them back.
 * Special tokens are added tokens; `<think>`/`<answer>` tags are added but not "special", so
 * `decode({ skipSpecialTokens: true })` keeps them for the reward functions, as Qwen3 does.
 *
 * The `agent` variant (assets/tiny-agent-tokenizer, the calculator task's model) appends
 * `<tool_call>`/`</tool_call>` as added tokens and swaps in a chat template that renders tools
 * and tool calls; its first ids are the base variant's, so the two share every character id.
 *
 * Regenerate the shipped copies: `npx tsx scripts/make-tiny-tokenizer.ts assets/tiny-tokenizer`
 * and `npx tsx scripts/make-tiny-tokenizer.ts --agent assets/tiny-agent-tokenizer`
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Ids 0.. in this order; pad = 0 so zero-filled buffers are padding. */
export const tinySpecialTokens = [
  { content: "<|pad|>", special: true },
  { content: "<|eos|>", special: true },
  { content: "<|unk|>", special: true },
  { content: "<think>", special: false },
  { content: "</think>", special: false },
  { content: "<answer>", special: false },
  { content: "</answer>", special: false },
] as const;

/** Characters after the added tokens: digits, operators, letters, whitespace, punctuation. */
export const tinyCharacters: readonly string[] = [
  ..."0123456789",
  ..."+-*/=^%<>",
  ..."abcdefghijklmnopqrstuvwxyz",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  " ",
  "\n",
  ...".,!?;:'\"()[]{}_#$&@|~`\\",
];

/** Plain `user: …<|eos|>\nassistant: …` turns: short, and made only of tokens in the vocab. */
export const tinyChatTemplate =
  "{%- for message in messages %}" +
  "{{- message['role'] + ': ' + message['content'] + '<|eos|>' + '\\n' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- 'assistant: ' }}{%- endif %}";

/** Added after the characters in the agent variant, so the base ids stay where they are. */
export const tinyAgentTokens = [
  { content: "<tool_call>", special: false },
  { content: "</tool_call>", special: false },
] as const;

/**
 * The agent variant's template: Hermes-style tool calls in as few characters as a char-level
 * model can afford.
 * - `tools` becomes one line of names (`tools: calculator<|eos|>`): the tiny model cannot read
 *   JSON schemas, it only needs to know which names exist.
 * - An assistant turn is `assistant: <content><tool_call>{"name": ..., "arguments": ...}</tool_call><|eos|>`.
 *   Arguments given as a JSON string (OpenAI shape) are written verbatim, objects with `tojson`
 *   (whose `{"k": v}` spacing matches Python's json.dumps); calls may be `{function: {name,
 *   arguments}}` (OpenAI) or flat `{name, arguments}` (HF).
 * - A tool result is `tool: <content><|eos|>`.
 * Every message ends with `<|eos|>\n` and nothing depends on later messages, so rendering
 * `messages[:k]` is a prefix of rendering `messages`: multi-turn rollouts append, never rewrite.
 */
export const tinyAgentChatTemplate =
  "{%- if tools %}{{- 'tools: ' }}{%- for t in tools %}" +
  "{%- set f = t.function if t.function is defined else t %}{{- f.name }}{%- if not loop.last %}{{- ',' }}{%- endif %}" +
  "{%- endfor %}{{- '<|eos|>' + '\\n' }}{%- endif %}" +
  "{%- for message in messages %}" +
  "{{- message['role'] + ': ' + (message['content'] if message['content'] is string else '') }}" +
  "{%- if message['role'] == 'assistant' and message['tool_calls'] is defined and message['tool_calls'] %}" +
  "{%- for tc in message['tool_calls'] %}{%- set f = tc.function if tc.function is defined else tc %}" +
  "{{- '<tool_call>{\"name\": \"' + f.name + '\", \"arguments\": ' }}" +
  "{%- if f.arguments is string %}{{- f.arguments }}{%- else %}{{- f.arguments | tojson }}{%- endif %}" +
  "{{- '}</tool_call>' }}{%- endfor %}{%- endif %}" +
  "{{- '<|eos|>' + '\\n' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- 'assistant: ' }}{%- endif %}";

export type TinyTokenizerVariant = "base" | "agent";

export interface TinyTokenizerOptions {
  /** `agent` adds the tool-call tokens and template. @default "base" */
  variant?: TinyTokenizerVariant;
}

export interface TinyTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** Builds the two JSON documents (deterministic: same input → byte-identical files). */
export function buildTinyTokenizer(options: TinyTokenizerOptions = {}): TinyTokenizerFiles {
  const variant = options.variant ?? "base";
  if (variant !== "base" && variant !== "agent") throw new TypeError(`tiny tokenizer variant must be "base" or "agent"; got ${JSON.stringify(variant)}`);
  const vocab: Record<string, number> = {};
  const added = (t: { content: string; special: boolean }, id: number) => {
    vocab[t.content] = id;
    return { id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special };
  };
  const addedTokens = tinySpecialTokens.map((t, id) => added(t, id));
  for (const ch of tinyCharacters) {
    if (ch in vocab) throw new Error(`duplicate character ${JSON.stringify(ch)} in tiny vocab`);
    vocab[ch] = Object.keys(vocab).length;
  }
  if (variant === "agent") for (const t of tinyAgentTokens) addedTokens.push(added(t, Object.keys(vocab).length));
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Fuse" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<|unk|>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const addedTokensDecoder = Object.fromEntries(
    addedTokens.map((t) => [String(t.id), { content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: t.special }]),
  );
  const tokenizerConfig = {
    added_tokens_decoder: addedTokensDecoder,
    bos_token: null,
    eos_token: "<|eos|>",
    pad_token: "<|pad|>",
    unk_token: "<|unk|>",
    additional_special_tokens: [],
    chat_template: variant === "agent" ? tinyAgentChatTemplate : tinyChatTemplate,
    clean_up_tokenization_spaces: false,
    model_max_length: 1024,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  return { tokenizerJson, tokenizerConfig };
}

function writeJsonAtomic(path: string, data: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + "\n");
  renameSync(tmp, path);
}

/** Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (created if missing). */
export function writeTinyTokenizer(dir: string, options: TinyTokenizerOptions = {}): { tokenizerJsonPath: string; tokenizerConfigPath: string } {
  const { tokenizerJson, tokenizerConfig } = buildTinyTokenizer(options);
  mkdirSync(dir, { recursive: true });
  const tokenizerJsonPath = join(dir, "tokenizer.json");
  const tokenizerConfigPath = join(dir, "tokenizer_config.json");
  writeJsonAtomic(tokenizerJsonPath, tokenizerJson);
  writeJsonAtomic(tokenizerConfigPath, tokenizerConfig);
  return { tokenizerJsonPath, tokenizerConfigPath };
}
