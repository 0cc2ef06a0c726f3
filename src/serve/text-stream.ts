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

/**
 * Incremental: each `update` looks only at the text after what was already resolved (plus the
 * held-back tail), so streaming a long reply costs O(new text) per token, not O(all text).
 */
export class StreamFilter {
  readonly #format: ToolCallFormat | null;
  readonly #stop: readonly string[];
  readonly #idPrefix: string;
  /** Text before #pos is resolved: sent as content, held as whitespace, or part of a parsed block. */
  #pos = 0;
  /** Where an open `<tool_call>` starts (hermes), or -1. */
  #blockStart = -1;
  /** Where to resume looking for a stop string / a closing tag. */
  #stopScan = 0;
  #stopAt = -1;
  #closeScan = 0;
  /** llama3-json: undecided until the first non-space text; "call" holds everything until `finish`. */
  #llamaMode: "undecided" | "call" | "prose" = "undecided";
  /** Trailing whitespace of the content, sent only once more content follows. */
  #heldSpace = "";
  #sent = "";
  #calls: ToolCall[] = [];
  #sentCalls = 0;

  constructor(options: StreamFilterOptions) {
    this.#format = options.format;
    this.#stop = options.stop ?? [];
    this.#idPrefix = options.idPrefix ?? "call";
  }

  /** Given all the text generated so far (each call extends the previous), what may be sent now. */
  update(text: string): StreamDelta {
    // A complete stop string cannot be in the text (generation ends there), but be safe.
    for (const s of this.#stop) {
      const at = text.indexOf(s, Math.max(0, this.#stopScan - s.length + 1));
      if (at >= 0 && (this.#stopAt < 0 || at < this.#stopAt)) this.#stopAt = at;
    }
    this.#stopScan = text.length;
    const limit = this.#stopAt >= 0 ? this.#stopAt : text.length;
    let content = "";
    if (this.#format === null) {
      content = this.#take(text, limit, this.#stop, false);
    } else if (this.#format === "llama3-json") {
      if (this.#llamaMode === "undecided") {
        const head = text.slice(0, limit).trimStart();
        // A reply that starts like a JSON call is only known at the end.
        if (head.startsWith("{") || head.startsWith(LLAMA_PYTHON_TAG)) this.#llamaMode = "call";
        else if (head !== "" && !LLAMA_PYTHON_TAG.startsWith(head)) this.#llamaMode = "prose";
      }
      if (this.#llamaMode === "prose") content = this.#take(text, limit, this.#stop, true);
    } else {
      content = this.#hermes(text, limit);
    }
    return { content, toolCalls: this.#newCalls() };
  }

  /** Given the final text, everything not sent yet (the final parse is authoritative). */
  finish(finalText: string): StreamDelta {
    let content = finalText;
    if (this.#format !== null) {
      const parsed = parseToolCalls(finalText, this.#format, { idPrefix: this.#idPrefix });
      content = parsed.content;
      this.#calls = parsed.toolCalls;
    }
    // Content only ever grows by appending; should a streamed view ever disagree with the final
    // text, nothing more is sent rather than something inconsistent.
    let delta = "";
    if (content.startsWith(this.#sent)) {
      delta = content.slice(this.#sent.length);
      this.#sent = content;
    }
    return { content: delta, toolCalls: this.#newCalls() };
  }

  #newCalls(): ToolCall[] {
    const calls = this.#calls.slice(this.#sentCalls);
    this.#sentCalls = this.#calls.length;
    return calls;
  }

  /**
   * Sends text[#pos, limit) minus a tail that could start one of `patterns`; with `trim`, drops
   * leading whitespace of the whole content and holds trailing whitespace back.
   */
  #take(text: string, limit: number, patterns: readonly string[], trim: boolean): string {
    const window = text.slice(this.#pos, limit);
    const end = this.#pos + window.length - partialSuffix(window, patterns);
    const piece = text.slice(this.#pos, end);
    this.#pos = end;
    return trim ? this.#emitTrimmed(piece) : this.#emit(piece);
  }

  #emit(piece: string): string {
    this.#sent += piece;
    return piece;
  }

  #emitTrimmed(piece: string): string {
    let s = this.#heldSpace + piece;
    if (this.#sent === "") s = s.trimStart();
    const body = s.trimEnd();
    this.#heldSpace = s.slice(body.length);
    return this.#emit(body);
  }

  #hermes(text: string, limit: number): string {
    let out = "";
    for (;;) {
      if (this.#blockStart >= 0) {
        const from = Math.max(this.#blockStart + HERMES_OPEN.length, this.#closeScan - HERMES_CLOSE.length + 1);
        const close = text.indexOf(HERMES_CLOSE, from);
        if (close < 0 || close + HERMES_CLOSE.length > limit) {
          this.#closeScan = limit;
          return out;
        }
        const end = close + HERMES_CLOSE.length;
        const block = text.slice(this.#blockStart, end);
        const parsed = parseToolCalls(block, "hermes");
        if (parsed.toolCalls.length === 1) this.#calls.push({ ...parsed.toolCalls[0]!, id: `${this.#idPrefix}_${this.#calls.length}` });
        else out += this.#emitTrimmed(block); // malformed: stays content, as in parseToolCalls
        this.#blockStart = -1;
        this.#pos = end;
        continue;
      }
      const open = text.indexOf(HERMES_OPEN, this.#pos);
      if (open >= 0 && open + HERMES_OPEN.length <= limit) {
        out += this.#emitTrimmed(text.slice(this.#pos, open));
        this.#blockStart = open;
        this.#closeScan = open + HERMES_OPEN.length;
        this.#pos = open;
        continue;
      }
      return out + this.#take(text, limit, [HERMES_OPEN, ...this.#stop], true);
    }
  }
}
