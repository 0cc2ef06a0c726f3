/**
 * A `Tokenizer` as GGUF `tokenizer.*` metadata (the inverse of gguf-tokenizer.ts): the byte-level
 * BPE vocabulary in id order with llama.cpp token types, the merges, the special ids, whether BOS/EOS
 * are added, the pre-tokenizer's llama.cpp name and the chat template.
 *
 * llama.cpp does not store a pre-tokenizer, it names one (`tokenizer.ggml.pre`); the name is found
 * by matching this tokenizer's pre-tokenizer against the table the loader uses
 * (`GGUF_PRE_TOKENIZERS`), and one that matches none is an error: a wrong split would change ids.
 * Only "gpt2"-style (byte-level BPE) tokenizers are written: Llama 3, Qwen, SmolLM.
 */
import type { GgufTypedValue } from "../torch/gguf-write.ts";
import { GGUF_PRE_TOKENIZERS } from "./gguf-tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { TokenizerError } from "./tokenizer.ts";

type Json = Record<string, unknown>;

/** llama.cpp token types (llama_token_type). */
export const GGUF_TOKEN_TYPES = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Preferred llama.cpp name when several names stand for the same split (first wins). */
const PRE_NAME_ORDER = ["gpt2", "llama-bpe", "qwen2", "smollm"];

/** A comparable summary of a pre-tokenizer: the split steps that decide where tokens may break. */
function preSignature(pre: unknown): string {
  if (pre === null || pre === undefined) return "none";
  const p = pre as Json;
  switch (p.type) {
    case "Sequence":
      return (p.pretokenizers as unknown[]).map(preSignature).filter((s) => s !== "bytelevel").join(" + ") || "bytelevel";
    case "ByteLevel":
      // use_regex: ByteLevel also splits with GPT-2's own regex.
      return p.use_regex === false ? "bytelevel" : "gpt2-regex";
    case "Split": {
      const pattern = (p.pattern as Json | undefined)?.Regex ?? (p.pattern as Json | undefined)?.String;
      return `split(${String(pattern)},${String(p.behavior)},${String(p.invert)})`;
    }
    case "Digits":
      return `digits(${String(p.individual_digits)})`;
    default:
      return JSON.stringify(p);
  }
}

/** The `tokenizer.ggml.pre` name for a tokenizer.json pre-tokenizer, or undefined. */
export function ggufPreTokenizerName(preTokenizer: unknown): string | undefined {
  const sig = preSignature(preTokenizer);
  const names = [...PRE_NAME_ORDER, ...Object.keys(GGUF_PRE_TOKENIZERS).filter((n) => !PRE_NAME_ORDER.includes(n))];
  return names.find((n) => preSignature(GGUF_PRE_TOKENIZERS[n]) === sig);
}

export interface GgufTokenizerMetadataOptions {
  /** Rows of the model's embedding: the token list is padded to it with unused `[PAD<id>]` tokens, as llama.cpp's converter does. */
  vocabSize: number;
}

/** `tokenizer.*` GGUF metadata for `tokenizer`. */
export function ggufTokenizerMetadata(tokenizer: Tokenizer, options: GgufTokenizerMetadataOptions): Array<[string, GgufTypedValue]> {
  const { tokenizerJson } = tokenizer.toJson();
  const path = tokenizer.source;
  const model = tokenizerJson.model as Json | undefined;
  const byteLevel = (tokenizerJson.decoder as Json | undefined)?.type === "ByteLevel";
  if (model?.type !== "BPE" || !byteLevel) {
    throw new TokenizerError(
      `only byte-level BPE tokenizers (llama.cpp's "gpt2": Llama 3, Qwen, SmolLM) can be written to GGUF; this one is ${String(model?.type)} with a ${String((tokenizerJson.decoder as Json | undefined)?.type)} decoder`,
      { path },
    );
  }
  const pre = ggufPreTokenizerName(tokenizerJson.pre_tokenizer);
  if (pre === undefined) {
    throw new TokenizerError(`the pre-tokenizer ${JSON.stringify(tokenizerJson.pre_tokenizer)} matches none llama.cpp names (${Object.keys(GGUF_PRE_TOKENIZERS).join(", ")})`, { path });
  }

  const tokens: Array<string | undefined> = [];
  const types: number[] = [];
  for (const [token, id] of Object.entries((model.vocab ?? {}) as Record<string, number>)) {
    tokens[id] = token;
    types[id] = GGUF_TOKEN_TYPES.normal;
  }
  for (const t of (tokenizerJson.added_tokens ?? []) as Array<{ id: number; content: string; special?: boolean }>) {
    tokens[t.id] = t.content;
    types[t.id] = t.special ? GGUF_TOKEN_TYPES.control : GGUF_TOKEN_TYPES.userDefined;
  }
  if (tokens.length > options.vocabSize) {
    throw new TokenizerError(`the tokenizer has ${tokens.length} tokens but the model's vocab_size is ${options.vocabSize}`, { path });
  }
  const n = options.vocabSize;
  const list: string[] = [];
  for (let id = 0; id < n; id++) {
    list.push(tokens[id] ?? `[PAD${id}]`);
    if (tokens[id] === undefined) types[id] = GGUF_TOKEN_TYPES.unused;
  }
  const merges = ((model.merges ?? []) as Array<string | [string, string]>).map((m) => (Array.isArray(m) ? m.join(" ") : m));

  // Whether encode() adds BOS / EOS: asked of the tokenizer itself, since HF says so either in
  // tokenizer_config.json or only in the post-processor (Llama 3).
  const plain = tokenizer.encode("a", { addSpecialTokens: false });
  const withSpecials = tokenizer.encode("a");
  const bos = tokenizer.bosTokenId;
  const addBos = bos !== undefined && withSpecials.length > plain.length && withSpecials[0] === bos;
  const addEos = withSpecials.length > plain.length && withSpecials.at(-1) === tokenizer.eosTokenId;

  const u32 = (value: number): GgufTypedValue => ({ type: "u32", value });
  const out: Array<[string, GgufTypedValue]> = [
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: pre }],
    ["tokenizer.ggml.tokens", { type: "array", elementType: "string", value: list }],
    ["tokenizer.ggml.token_type", { type: "array", elementType: "i32", value: types.slice(0, n) }],
    ["tokenizer.ggml.merges", { type: "array", elementType: "string", value: merges }],
    ["tokenizer.ggml.eos_token_id", u32(tokenizer.eosTokenId)],
  ];
  if (bos !== undefined) out.push(["tokenizer.ggml.bos_token_id", u32(bos)]);
  out.push(["tokenizer.ggml.padding_token_id", u32(tokenizer.padTokenId)]);
  // Extra stop ids (Llama 3's <|eot_id|>, <|eom_id|>; Qwen3's <|endoftext|>): llama.cpp ends generation on them.
  const extra = tokenizer.stopTokenIds.filter((id) => id !== tokenizer.eosTokenId);
  const eom = extra.find((id) => list[id] === "<|eom_id|>");
  const eot = extra.find((id) => id !== eom);
  if (eot !== undefined) out.push(["tokenizer.ggml.eot_token_id", u32(eot)]);
  if (eom !== undefined) out.push(["tokenizer.ggml.eom_token_id", u32(eom)]);
  out.push(["tokenizer.ggml.add_bos_token", { type: "bool", value: addBos }]);
  out.push(["tokenizer.ggml.add_eos_token", { type: "bool", value: addEos }]);
  const template = tokenizer.chatTemplate;
  if (template !== undefined) out.push(["tokenizer.chat_template", { type: "string", value: template }]);
  return out;
}
