/**
 * Streaming text out of token ids:
 *
 * - `IncrementalDetokenizer` decodes ids one at a time without ever splitting a multi-byte
 *   character: it re-decodes a short window and only releases text once the window no longer
 *   ends in U+FFFD (an incomplete UTF-8 sequence), as vLLM's detokenizer does.
 * - `StreamFilter` decides which part of the text seen so far may be sent: it withholds a
 *   suffix that could still become a stop string (the final text is cut before it), a suffix
 *   that could be the start of a `<tool_call>` block, an open tool-call block, and trailing
 *   whitespace (the final content is trimmed). Complete tool calls are released as soon as their
 *   block closes. `finish` reconciles with the final text, so what was streamed always adds up to
 *   the non-streaming response.
 */
import { HERMES_CLOSE, HERMES_OPEN, LLAMA_PYTHON_TAG, parseToolCalls, type Tokenizer, type ToolCall, type ToolCallFormat } from "../models/index.ts";

export class IncrementalDetokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #skipSpecialTokens: boolean;
  readonly #ids: number[] = [];
  #prefixOffset = 0;
  #readOffset = 0;

  constructor(tokenizer: Tokenizer, { skipSpecialTokens = true }: { skipSpecialTokens?: boolean } = {}) {
    this.#tokenizer = tokenizer;
    this.#skipSpecialTokens = skipSpecialTokens;
  }

  /** Adds one id; returns the text it completes ("" while a character is still incomplete). */
  push(id: number): string {
    this.#ids.push(id);
    const prefix = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const full = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (full.length <= prefix.length || full.endsWith("\uFFFD")) return "";
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return full.slice(prefix.length);
  }

  #decode(ids: number[]): string {
    return ids.length === 0 ? "" : this.#tokenizer.decode(ids, { skipSpecialTokens: this.#skipSpecialTokens });
  }
}

export interface StreamDelta {
  content: string;
  toolCalls: ToolCall[];
}

export interface StreamFilterOptions {
  /** Tool-call syntax to hold back and parse; null streams everything as content (no tools). */
  format: ToolCallFormat | null;
  /** Stop strings of the request. */
  stop?: readonly string[];
  /** Tool call ids are `${idPrefix}_${index}` (as `parseToolCalls`). @default "call" */
  idPrefix?: string;
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `patterns`. */
function partialSuffix(text: string, patterns: readonly string[]): number {
  let best = 0;
  for (const p of patterns) {
    for (let k = Math.min(p.length - 1, text.length); k > best; k--) {
      if (text.endsWith(p.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

export class StreamFilter {
  readonly #format: ToolCallFormat | null;
  readonly #stop: readonly string[];
  readonly #idPrefix: string;
  #sentContent = "";
  #sentCalls = 0;

  constructor(options: StreamFilterOptions) {
    this.#format = options.format;
    this.#stop = options.stop ?? [];
    this.#idPrefix = options.idPrefix ?? "call";
  }

  /** Given all the text generated so far, what may be sent now (beyond what was sent). */
  update(text: string): StreamDelta {
    const view = this.#view(text);
    return this.#delta(view.content, view.toolCalls);
  }

  /** Given the final text, everything not sent yet. */
  finish(finalText: string): StreamDelta {
    if (this.#format === null) return this.#delta(finalText, []);
    const parsed = parseToolCalls(finalText, this.#format, { idPrefix: this.#idPrefix });
    return this.#delta(parsed.content, parsed.toolCalls);
  }

  #delta(content: string, toolCalls: ToolCall[]): StreamDelta {
    // Content only grows by appending; if a view ever disagreed with what was sent, send nothing more
    // rather than something inconsistent (the non-streaming response stays authoritative).
    let delta = "";
    if (content.startsWith(this.#sentContent)) {
      delta = content.slice(this.#sentContent.length);
      this.#sentContent = content;
    }
    const calls = toolCalls.slice(this.#sentCalls);
    this.#sentCalls = Math.max(this.#sentCalls, toolCalls.length);
    return { content: delta, toolCalls: calls };
  }

  /** The sendable content and the complete tool calls in `text` (not yet final). */
  #view(text: string): StreamDelta {
    // A complete stop string cannot be in the text (generation ends there), but be safe.
    for (const s of this.#stop) {
      const at = text.indexOf(s);
      if (at >= 0) text = text.slice(0, at);
    }
    if (this.#format === null) return { content: text.slice(0, text.length - partialSuffix(text, this.#stop)), toolCalls: [] };
    if (this.#format === "llama3-json") {
      const head = text.trimStart();
      // A reply that starts like a JSON call is only known at the end.
      if (head === "" || head.startsWith("{") || head.startsWith(LLAMA_PYTHON_TAG) || LLAMA_PYTHON_TAG.startsWith(head)) return { content: "", toolCalls: [] };
      const cut = text.slice(0, text.length - partialSuffix(text, this.#stop));
      return { content: cut.trim(), toolCalls: [] };
    }
    // hermes: complete blocks are parsed; an open block and a possible "<tool_call>" start wait.
    let content = "";
    const toolCalls: ToolCall[] = [];
    let at = 0;
    for (;;) {
      const open = text.indexOf(HERMES_OPEN, at);
      if (open < 0) break;
      const close = text.indexOf(HERMES_CLOSE, open + HERMES_OPEN.length);
      content += text.slice(at, open);
      if (close < 0) return { content: content.trim(), toolCalls };
      const block = text.slice(open, close + HERMES_CLOSE.length);
      const parsed = parseToolCalls(block, "hermes", { idPrefix: this.#idPrefix });
      if (parsed.toolCalls.length === 1) toolCalls.push({ ...parsed.toolCalls[0]!, id: `${this.#idPrefix}_${toolCalls.length}` });
      else content += block;
      at = close + HERMES_CLOSE.length;
    }
    const tail = text.slice(at);
    content += tail.slice(0, tail.length - partialSuffix(tail, [HERMES_OPEN, ...this.#stop]));
    return { content: content.trim(), toolCalls };
  }
}
