/**
 * A character-level tokenizer for the built-in arithmetic task, written as real Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` files so the same `Tokenizer` class (and Python's
 * `transformers`) loads it. One token per character keeps the default model's embedding tiny.
 *
 * Encoding: a BPE model with no merges splits text into characters; `Fuse` joins them back.
 * Special tokens are added tokens; `<think>`/`<answer>` tags are added but not "special", so
 * `decode({ skipSpecialTokens: true })` keeps them for the reward functions, as Qwen3 does.
 *
 * Regenerate the shipped copy: `npx tsx scripts/make-tiny-tokenizer.ts assets/tiny-tokenizer`
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

export interface TinyTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** Builds the two JSON documents (deterministic: same input → byte-identical files). */
export function buildTinyTokenizer(): TinyTokenizerFiles {
  const vocab: Record<string, number> = {};
  const addedTokens = tinySpecialTokens.map((t, id) => {
    vocab[t.content] = id;
    return { id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special };
  });
  for (const ch of tinyCharacters) {
    if (ch in vocab) throw new Error(`duplicate character ${JSON.stringify(ch)} in tiny vocab`);
    vocab[ch] = Object.keys(vocab).length;
  }
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
    chat_template: tinyChatTemplate,
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
export function writeTinyTokenizer(dir: string): { tokenizerJsonPath: string; tokenizerConfigPath: string } {
  const { tokenizerJson, tokenizerConfig } = buildTinyTokenizer();
  mkdirSync(dir, { recursive: true });
  const tokenizerJsonPath = join(dir, "tokenizer.json");
  const tokenizerConfigPath = join(dir, "tokenizer_config.json");
  writeJsonAtomic(tokenizerJsonPath, tokenizerJson);
  writeJsonAtomic(tokenizerConfigPath, tokenizerConfig);
  return { tokenizerJsonPath, tokenizerConfigPath };
}
