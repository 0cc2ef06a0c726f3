/**
 * OpenAI response pieces built from backend results: logprobs in the chat shape
 * (`{ content: [{ token, logprob, bytes, top_logprobs }] }`) and the legacy completions shape
 * (`{ tokens, token_logprobs, top_logprobs, text_offset }`), usage, ids and finish reasons.
 */
import { randomBytes } from "node:crypto";
import type { TopLogprobs } from "../generation/index.ts";
import type { Tokenizer } from "../models/index.ts";
import type { BackendChoice, BackendResult } from "./types.ts";

const tokenTexts = new WeakMap<Tokenizer, Map<number, string>>();

/** The text of one token on its own (special tokens included), cached per tokenizer. */
export function tokenText(tokenizer: Tokenizer, id: number): string {
  let cache = tokenTexts.get(tokenizer);
  if (!cache) tokenTexts.set(tokenizer, (cache = new Map()));
  let text = cache.get(id);
  if (text === undefined) {
    text = tokenizer.decode([id], { skipSpecialTokens: false });
    cache.set(id, text);
  }
  return text;
}

/** UTF-8 bytes of a token's text (a token that is part of a character decodes to U+FFFD, as in vLLM). */
function bytesOf(text: string): number[] {
  return Array.from(Buffer.from(text, "utf8"));
}

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

function topEntries(tokenizer: Tokenizer, top: TopLogprobs | undefined): ChatTokenLogprob["top_logprobs"] {
  if (!top) return [];
  return top.tokenIds.map((id, k) => {
    const token = tokenText(tokenizer, id);
    return { token, logprob: top.logprobs[k]!, bytes: bytesOf(token) };
  });
}

/** Chat `choices[i].logprobs` for every generated token (the stop token included, as `token_ids`). */
export function chatLogprobs(tokenizer: Tokenizer, choice: BackendChoice): { content: ChatTokenLogprob[]; refusal: null } {
  const content = choice.tokenIds.map((id, t) => {
    const token = tokenText(tokenizer, id);
    return { token, logprob: choice.logprobs[t]!, bytes: bytesOf(token), top_logprobs: topEntries(tokenizer, choice.topLogprobs?.[t]) };
  });
  return { content, refusal: null };
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>> | null;
  text_offset: number[];
}

/** Completions `choices[i].logprobs` (legacy shape). */
export function completionLogprobs(tokenizer: Tokenizer, choice: BackendChoice, withTop: boolean): CompletionLogprobs {
  const tokens = choice.tokenIds.map((id) => tokenText(tokenizer, id));
  const text_offset: number[] = [];
  let offset = 0;
  for (const t of tokens) {
    text_offset.push(offset);
    offset += t.length;
  }
  const top = withTop
    ? choice.tokenIds.map((_, t) => {
        const entry = choice.topLogprobs?.[t];
        const out: Record<string, number> = {};
        entry?.tokenIds.forEach((id, k) => (out[tokenText(tokenizer, id)] = entry.logprobs[k]!));
        return out;
      })
    : null;
  return { tokens, token_logprobs: [...choice.logprobs], top_logprobs: top, text_offset };
}

export function usageOf(result: BackendResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const completion = result.choices.reduce((s, c) => s + c.tokenIds.length, 0);
  return { prompt_tokens: result.promptIds.length, completion_tokens: completion, total_tokens: result.promptIds.length + completion };
}

export function finishReason(choice: BackendChoice, toolCalls: number): "stop" | "length" | "tool_calls" {
  if (choice.stopReason === "length") return "length";
  return toolCalls > 0 ? "tool_calls" : "stop";
}

export function responseId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}
