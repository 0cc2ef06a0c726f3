/**
 * A Hugging Face tokenizer loaded from a local model directory: `tokenizer.json` (the encoding,
 * via @huggingface/tokenizers) + `tokenizer_config.json` (special tokens, chat template), plus the
 * optional `chat_template.jinja` and `generation_config.json` newer checkpoints ship.
 *
 * Follows transformers' conventions: the pad token falls back to eos when absent, chat templates
 * are tokenized without adding special tokens, and `vocabSize` counts added tokens (`len(tok)`).
 * It does not download anything; resolving hub ids to a cache directory is the caller's job.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { ChatTemplate, type ChatMessage } from "./tokenizer/chat-template.ts";
import { TokenizerError } from "./tokenizer/tokenizer-error.ts";

export { TokenizerError } from "./tokenizer/tokenizer-error.ts";
export type { ChatMessage } from "./tokenizer/chat-template.ts";

export interface EncodeOptions {
  /** Add the tokenizer's post-processor tokens (BOS for Llama; none for Qwen). @default true */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (eos, pad, im_start...) from the text. @default false */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the assistant header so the model continues as the assistant. @default false */
  addGenerationPrompt?: boolean;
  /** Qwen3-style thinking switch; left undefined the template's own default applies. */
  enableThinking?: boolean;
  /** Tool schemas for templates that render them. */
  tools?: unknown[];
  /** Further template variables (snake_case, as the template names them). */
  extraContext?: Record<string, unknown>;
}

/** Special-token strings from tokenizer_config.json (undefined when absent). */
export interface SpecialTokens {
  bos?: string;
  eos: string;
  /** Falls back to `eos` when the config has no pad token. */
  pad: string;
  unk?: string;
  additional: string[];
}

type Json = Record<string, unknown>;

function readJson(path: string, { required }: { required: boolean }): Json | undefined {
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new TokenizerError("file not found (a tokenizer directory needs tokenizer.json and tokenizer_config.json)", { path });
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TokenizerError(`cannot read: ${(err as Error).message}`, { path, cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(`not valid JSON: ${(err as Error).message}`, { path, cause: err });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new TokenizerError("expected a JSON object at the top level", { path });
  return data as Json;
}

/** tokenizer_config.json writes special tokens as strings or as AddedToken objects `{content: ...}`. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return undefined;
}

/** tokenizer_config.json's chat_template is a string, or a list of `{name, template}` (older checkpoints). */
function pickChatTemplate(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const entries = value as Array<{ name?: string; template?: string }>;
    return (entries.find((e) => e.name === "default") ?? entries[0])?.template;
  }
  return undefined;
}

export class Tokenizer {
  /** Directory (or label) it was loaded from, for messages. */
  readonly source: string;
  readonly specialTokens: SpecialTokens;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly bosTokenId: number | undefined;
  /**
   * Every id that ends generation: eos plus generation_config.json's `eos_token_id`(s)
   * (Qwen3 instruct stops on both `<|im_end|>` and `<|endoftext|>`).
   */
  readonly stopTokenIds: number[];
  /** Ids of tokens flagged special (dropped by `skipSpecialTokens`). */
  readonly allSpecialIds: number[];
  /** Largest id + 1 over the base vocab and added tokens: the embedding rows a model needs. */
  readonly vocabSize: number;
  readonly modelMaxLength: number | undefined;
  private readonly hf: HfTokenizer;
  private readonly template: ChatTemplate | undefined;
  private readonly files: { tokenizerJson: Json; tokenizerConfig: Json };

  private constructor(opts: { source: string; tokenizerJson: Json; tokenizerConfig: Json; chatTemplate?: string; generationConfig?: Json; configPath: string }) {
    const { source, tokenizerJson, tokenizerConfig, configPath } = opts;
    this.source = source;
    this.files = { tokenizerJson, tokenizerConfig };
    try {
      this.hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new TokenizerError(`tokenizer.json is not a usable tokenizer: ${(err as Error).message}`, { path: join(source, "tokenizer.json"), cause: err });
    }
    const eos = tokenString(tokenizerConfig.eos_token);
    if (eos === undefined) throw new TokenizerError("eos_token is missing; generation needs an end-of-sequence token", { path: configPath });
    const pad = tokenString(tokenizerConfig.pad_token) ?? eos;
    const bos = tokenString(tokenizerConfig.bos_token);
    const unk = tokenString(tokenizerConfig.unk_token);
    const additional = Array.isArray(tokenizerConfig.additional_special_tokens)
      ? tokenizerConfig.additional_special_tokens.map(tokenString).filter((t): t is string => t !== undefined)
      : [];
    this.specialTokens = { bos, eos, pad, unk, additional };
    const idOf = (token: string, field: string): number => {
      const id = this.hf.token_to_id(token);
      if (id === undefined) throw new TokenizerError(`${field} ${JSON.stringify(token)} is not in the vocabulary`, { path: configPath });
      return id;
    };
    this.eosTokenId = idOf(eos, "eos_token");
    this.padTokenId = idOf(pad, tokenizerConfig.pad_token === undefined || tokenizerConfig.pad_token === null ? "eos_token (pad fallback)" : "pad_token");
    this.bosTokenId = bos === undefined ? undefined : idOf(bos, "bos_token");

    const genEos = opts.generationConfig?.eos_token_id;
    const extraStops = (Array.isArray(genEos) ? genEos : [genEos]).filter((x): x is number => typeof x === "number");
    this.stopTokenIds = [...new Set([this.eosTokenId, ...extraStops])];

    const vocab = this.hf.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const special = new Set<number>();
    for (const [id, token] of this.hf.get_added_tokens_decoder()) if (token.special) special.add(id);
    for (const t of [eos, pad, bos, unk, ...additional]) {
      const id = t === undefined ? undefined : this.hf.token_to_id(t);
      if (id !== undefined) special.add(id);
    }
    this.allSpecialIds = [...special].sort((a, b) => a - b);

    const max = tokenizerConfig.model_max_length;
    // transformers writes ~1e30 for "no limit".
    this.modelMaxLength = typeof max === "number" && max < 1e12 ? max : undefined;

    const templateSource = opts.chatTemplate ?? pickChatTemplate(tokenizerConfig.chat_template);
    this.template = templateSource === undefined ? undefined : new ChatTemplate(templateSource, { path: configPath });
  }

  /** Loads `dir/tokenizer.json` + `dir/tokenizer_config.json` (+ `chat_template.jinja`, `generation_config.json` if present). */
  static fromPretrained(dir: string): Tokenizer {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new TokenizerError("tokenizer directory not found", { path: dir });
    }
    if (!isDir) throw new TokenizerError("expected a model directory containing tokenizer.json, got a file", { path: dir });
    const configPath = join(dir, "tokenizer_config.json");
    const tokenizerJson = readJson(join(dir, "tokenizer.json"), { required: true })!;
    const tokenizerConfig = readJson(configPath, { required: true })!;
    const generationConfig = readJson(join(dir, "generation_config.json"), { required: false });
    const jinjaPath = join(dir, "chat_template.jinja");
    const chatTemplate = existsSync(jinjaPath) ? readFileSync(jinjaPath, "utf8") : undefined;
    return new Tokenizer({ source: dir, tokenizerJson, tokenizerConfig, chatTemplate, generationConfig, configPath });
  }

  /** Builds a tokenizer from already-parsed JSON (tests, in-memory tokenizers). */
  static fromJson(opts: { tokenizerJson: Json; tokenizerConfig: Json; chatTemplate?: string; generationConfig?: Json; source?: string }): Tokenizer {
    const source = opts.source ?? "<in-memory tokenizer>";
    return new Tokenizer({ ...opts, source, configPath: join(source, "tokenizer_config.json") });
  }

  /** The parsed `tokenizer.json` and `tokenizer_config.json` it was built from (read-only; exporters read the vocabulary from them). */
  toJson(): { readonly tokenizerJson: Readonly<Json>; readonly tokenizerConfig: Readonly<Json> } {
    return this.files;
  }

  encode(text: string, { addSpecialTokens = true }: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], { skipSpecialTokens = false }: DecodeOptions = {}): string {
    if (ids.length === 0) return ""; // @huggingface/tokenizers rejects an empty list
    return this.hf.decode(ids as number[], { skip_special_tokens: skipSpecialTokens });
  }

  /** Token string for an id (`Ġworld`), or undefined outside the vocab. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** Id of an exact token string, or undefined when it is not one token. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  get chatTemplate(): string | undefined {
    return this.template?.source;
  }

  /** Renders a conversation with the model's chat template, as text. */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: false }): string;
  /** Renders and tokenizes (without adding special tokens: the template already has them). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize?: boolean } = {}): string | number[] {
    if (!this.template) {
      throw new TokenizerError("this tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja); format prompts as plain text instead", {
        path: this.source,
      });
    }
    const { bos, eos, pad, unk } = this.specialTokens;
    const text = this.template.render(messages, {
      addGenerationPrompt: opts.addGenerationPrompt ?? false,
      enableThinking: opts.enableThinking,
      tools: opts.tools,
      extraContext: opts.extraContext,
      specialTokens: { bos_token: bos ?? "", eos_token: eos, pad_token: pad, unk_token: unk },
    });
    return opts.tokenize ? this.encode(text, { addSpecialTokens: false }) : text;
  }
}
