/**
 * SFT examples as token ids with a loss mask: only response / assistant tokens are trained.
 * Prompt-response records: prompt ids (raw or through the chat template) + response + EOS.
 * Chat records: each assistant turn's tokens are found by rendering the conversation up to the
 * turn (with the generation prompt) and up to its end, and marking the difference — the usual
 * way to respect any chat template without parsing it.
 */
import { DataOptionError } from "./errors.ts";
import { isChatRecord, type ChatMessage, type SftRecord } from "./sft-records.ts";

/** A chat message as tokenizers take it (extra fields allowed, e.g. tool calls). */
export type TemplateMessage = { role: string; content: string; [key: string]: unknown };

/** What this needs of a tokenizer (src/models' Tokenizer fits). */
export interface SftTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  applyChatTemplate(messages: readonly TemplateMessage[], options: { addGenerationPrompt?: boolean; tools?: unknown[]; tokenize: true }): number[];
  readonly eosTokenId: number;
}

export interface TokenizedExample {
  ids: number[];
  /** 1 where `ids[t]` is a training target, aligned with `ids`. */
  lossMask: number[];
}

export interface SftTokenizeOptions {
  /** Prompt-response records: `chat` wraps the prompt in the chat template. @default "chat" */
  promptFormat?: "chat" | "raw";
  systemPrompt?: string | null;
  /** Example exchanges before the prompt (chat only; not trained on). @default [] */
  fewShot?: readonly { user: string; assistant: string }[];
  /** Longer examples are cut to this many tokens. */
  maxLength?: number;
}

export function tokenizeSftRecord(tokenizer: SftTokenizer, record: SftRecord, options: SftTokenizeOptions = {}): TokenizedExample {
  let out: TokenizedExample;
  if (isChatRecord(record)) {
    out = tokenizeChat(tokenizer, record.messages, record.tools);
  } else {
    const system: TemplateMessage[] = options.systemPrompt ? [{ role: "system", content: options.systemPrompt }] : [];
    for (const turn of options.fewShot ?? []) system.push({ role: "user", content: turn.user }, { role: "assistant", content: turn.assistant });
    const prompt = (options.promptFormat ?? "chat") === "raw"
      ? tokenizer.encode(record.prompt, { addSpecialTokens: true })
      : tokenizer.applyChatTemplate([...system, { role: "user", content: record.prompt }], { addGenerationPrompt: true, tokenize: true });
    const response = [...tokenizer.encode(record.response, { addSpecialTokens: false }), tokenizer.eosTokenId];
    out = { ids: [...prompt, ...response], lossMask: [...prompt.map(() => 0), ...response.map(() => 1)] };
  }
  if (options.maxLength !== undefined) {
    if (!Number.isInteger(options.maxLength) || options.maxLength < 2) throw new DataOptionError("maxLength", "an integer >= 2", options.maxLength);
    out = { ids: out.ids.slice(0, options.maxLength), lossMask: out.lossMask.slice(0, options.maxLength) };
  }
  return out;
}

function tokenizeChat(tokenizer: SftTokenizer, chat: readonly ChatMessage[], tools: unknown[] | undefined): TokenizedExample {
  const messages: TemplateMessage[] = chat.map((m) => ({ ...m }));
  const withTools = tools ? { tools } : {};
  const full = tokenizer.applyChatTemplate(messages, { ...withTools, tokenize: true });
  const lossMask = full.map(() => 0);
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return;
    const start = tokenizer.applyChatTemplate(messages.slice(0, i), { ...withTools, addGenerationPrompt: true, tokenize: true }).length;
    const end = tokenizer.applyChatTemplate(messages.slice(0, i + 1), { ...withTools, tokenize: true }).length;
    for (let t = start; t < Math.min(end, full.length); t++) lossMask[t] = 1;
  });
  return { ids: full, lossMask };
}

/**
 * Greedy packing: concatenates examples into rows of at most `seqLen` tokens (an example never
 * straddles two rows), so short examples don't pay for padding. Attention is not blocked between
 * packed examples (the common, simple form).
 */
export function packExamples(examples: readonly TokenizedExample[], seqLen: number): TokenizedExample[] {
  const rows: TokenizedExample[] = [];
  let cur: TokenizedExample = { ids: [], lossMask: [] };
  for (const e of examples) {
    const ex = e.ids.length > seqLen ? { ids: e.ids.slice(0, seqLen), lossMask: e.lossMask.slice(0, seqLen) } : e;
    if (cur.ids.length + ex.ids.length > seqLen && cur.ids.length) {
      rows.push(cur);
      cur = { ids: [], lossMask: [] };
    }
    cur.ids.push(...ex.ids);
    cur.lossMask.push(...ex.lossMask);
  }
  if (cur.ids.length) rows.push(cur);
  return rows;
}
