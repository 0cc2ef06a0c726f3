/**
 * A `Tokenizer` from a GGUF file's `tokenizer.*` metadata: the byte-level BPE vocabulary, merges,
 * token types, special ids, the pre-tokenizer name and the chat template become an in-memory
 * `tokenizer.json` + `tokenizer_config.json` (+ a generation config with the extra stop ids), which
 * load through `Tokenizer.fromJson` like any Hugging Face tokenizer.
 *
 * llama.cpp names the pre-tokenizer (`tokenizer.ggml.pre`) instead of storing it; each name maps to
 * the split regex its Hugging Face tokenizer uses (llama.cpp's llama-vocab.cpp keeps the same table).
 * An unknown name is an error rather than a silent fallback, since a wrong split changes every id.
 */
import type { GgufValue } from "../torch/gguf.ts";
import { Tokenizer, TokenizerError } from "./tokenizer.ts";

type Json = Record<string, unknown>;

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const split = (regex: string): Json => ({
  type: "Sequence",
  pretokenizers: [
    { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});
/** GPT-2's own split (ByteLevel's built-in regex). */
const GPT2: Json = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
/** StarCoder-style vocabularies (SmolLM): every digit alone, then GPT-2's split. */
const DIGITS_THEN_GPT2: Json = { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, GPT2] };

/** `tokenizer.ggml.pre` → the Hugging Face pre-tokenizer it stands for. */
export const GGUF_PRE_TOKENIZERS: Record<string, Json> = {
  default: GPT2,
  gpt2: GPT2,
  "llama-bpe": split(LLAMA3_SPLIT),
  "llama-v3": split(LLAMA3_SPLIT),
  llama3: split(LLAMA3_SPLIT),
  "smaug-bpe": split(LLAMA3_SPLIT),
  falcon3: split(LLAMA3_SPLIT),
  qwen2: split(QWEN2_SPLIT),
  "deepseek-r1-qwen": split(QWEN2_SPLIT),
  smollm: DIGITS_THEN_GPT2,
  starcoder: DIGITS_THEN_GPT2,
  refact: DIGITS_THEN_GPT2,
};

// llama.cpp token types (llama_token_type).
const CONTROL = 3;
const USER_DEFINED = 4;

export interface GgufTokenizerOptions {
  /** Used in error messages and as the tokenizer's `source`. */
  path?: string;
}

function strings(v: GgufValue | undefined, key: string, path: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new TokenizerError(`GGUF metadata '${key}' must be a list of strings`, { path });
  return v as string[];
}
function optionalId(metadata: ReadonlyMap<string, GgufValue>, key: string, n: number, path: string): number | undefined {
  const v = metadata.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= n) throw new TokenizerError(`GGUF metadata '${key}' must be a token id below ${n}; got ${String(v)}`, { path });
  return v;
}

/** The `tokenizer.json`, `tokenizer_config.json` and generation config a GGUF's metadata describes. */
export function ggufTokenizerFiles(metadata: ReadonlyMap<string, GgufValue>, options: GgufTokenizerOptions = {}): { tokenizerJson: Json; tokenizerConfig: Json; generationConfig: Json } {
  const path = options.path ?? "<gguf>";
  const model = metadata.get("tokenizer.ggml.model");
  if (model !== "gpt2") {
    throw new TokenizerError(
      `GGUF tokenizer.ggml.model ${JSON.stringify(model)} is not supported (only "gpt2", byte-level BPE as in Llama 3, Qwen and SmolLM); ` +
        "set model.tokenizer_path to the model's Hugging Face tokenizer directory instead",
      { path },
    );
  }
  const tokens = strings(metadata.get("tokenizer.ggml.tokens"), "tokenizer.ggml.tokens", path);
  const merges = strings(metadata.get("tokenizer.ggml.merges"), "tokenizer.ggml.merges", path);
  const typesRaw = metadata.get("tokenizer.ggml.token_type");
  const types = Array.isArray(typesRaw) && typesRaw.length === tokens.length ? (typesRaw as number[]) : undefined;
  const preName = metadata.get("tokenizer.ggml.pre") ?? "default";
  if (typeof preName !== "string" || !(preName in GGUF_PRE_TOKENIZERS)) {
    throw new TokenizerError(`GGUF tokenizer.ggml.pre ${JSON.stringify(preName)} is not a known pre-tokenizer; known: ${Object.keys(GGUF_PRE_TOKENIZERS).join(", ")}`, { path });
  }

  const vocab: Record<string, number> = {};
  for (let id = 0; id < tokens.length; id++) if (!(tokens[id]! in vocab)) vocab[tokens[id]!] = id;
  const addedTokens: Json[] = [];
  if (types) {
    for (let id = 0; id < tokens.length; id++) {
      if (types[id] !== CONTROL && types[id] !== USER_DEFINED) continue;
      addedTokens.push({ id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === CONTROL });
    }
  }

  const n = tokens.length;
  const bosId = optionalId(metadata, "tokenizer.ggml.bos_token_id", n, path);
  const eosId = optionalId(metadata, "tokenizer.ggml.eos_token_id", n, path);
  const padId = optionalId(metadata, "tokenizer.ggml.padding_token_id", n, path);
  const unkId = optionalId(metadata, "tokenizer.ggml.unknown_token_id", n, path);
  if (eosId === undefined) throw new TokenizerError("GGUF metadata 'tokenizer.ggml.eos_token_id' is missing; generation needs an end-of-sequence token", { path });
  const addBos = metadata.get("tokenizer.ggml.add_bos_token") === true && bosId !== undefined;
  const addEos = metadata.get("tokenizer.ggml.add_eos_token") === true;
  // Every token a special id names is special, whatever its token type says.
  for (const id of [bosId, eosId, padId, unkId]) {
    if (id !== undefined && !addedTokens.some((t) => t.id === id)) addedTokens.push({ id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  addedTokens.sort((a, b) => (a.id as number) - (b.id as number));

  const specialSeq = (id: number): Json => ({ SpecialToken: { id: tokens[id], type_id: 0 } });
  let postProcessor: Json = { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true };
  if (addBos || addEos) {
    const single: Json[] = [...(addBos ? [specialSeq(bosId!)] : []), { Sequence: { id: "A", type_id: 0 } }, ...(addEos ? [specialSeq(eosId)] : [])];
    const pair: Json[] = [...single, ...(addBos ? [specialSeq(bosId!)] : []), { Sequence: { id: "B", type_id: 1 } }, ...(addEos ? [specialSeq(eosId)] : [])];
    const specials: Json = {};
    for (const id of [...(addBos ? [bosId!] : []), ...(addEos ? [eosId] : [])]) specials[tokens[id]!] = { id: tokens[id], ids: [id], tokens: [tokens[id]] };
    postProcessor = { type: "TemplateProcessing", single, pair, special_tokens: specials };
  }

  const tokenizerJson: Json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: GGUF_PRE_TOKENIZERS[preName],
    post_processor: postProcessor,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };

  const arch = metadata.get("general.architecture");
  const context = typeof arch === "string" ? metadata.get(`${arch}.context_length`) : undefined;
  const chatTemplate = metadata.get("tokenizer.chat_template");
  const tokenizerConfig: Json = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: bosId === undefined ? null : tokens[bosId],
    eos_token: tokens[eosId],
    pad_token: padId === undefined ? null : tokens[padId],
    unk_token: unkId === undefined ? null : tokens[unkId],
    clean_up_tokenization_spaces: false,
    model_max_length: typeof context === "number" ? context : 1e30,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  if (typeof chatTemplate === "string") tokenizerConfig.chat_template = chatTemplate;

  // Llama 3 instruct ends turns with <|eot_id|> (and tool calls with <|eom_id|>), not its eos.
  const stops = [eosId];
  for (const key of ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]) {
    const id = optionalId(metadata, key, n, path);
    if (id !== undefined && !stops.includes(id)) stops.push(id);
  }
  const generationConfig: Json = { eos_token_id: stops.length === 1 ? stops[0] : stops };
  if (bosId !== undefined) generationConfig.bos_token_id = bosId;
  return { tokenizerJson, tokenizerConfig, generationConfig };
}

/** The tokenizer (and chat template) stored in a GGUF file's metadata. */
export function ggufTokenizer(metadata: ReadonlyMap<string, GgufValue>, options: GgufTokenizerOptions = {}): Tokenizer {
  const files = ggufTokenizerFiles(metadata, options);
  return Tokenizer.fromJson({ ...files, source: options.path ?? "<gguf>" });
}
