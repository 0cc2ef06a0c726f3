/**
 * Streaming text out of token ids:
 *
 * - `IncrementalDetokenizer` decodes ids one at a time without ever splitting a multi-byte
 *   character: it re-decodes a short window and only releases text once the window no longer
 *   ends in U+FFFD (an incomplete UTF-8 sequence), as vLLM's detokenizer does.
 * - `StreamFilter` decides which part of the text generated so far may be sent: it withholds a
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
 * Incremental: it keeps only the unresolved tail (held-back text, an open tool-call block), so
 * streaming a long reply costs O(new text) per token, not O(all text).
 */
export class StreamFilter {
  readonly #format: ToolCallFormat | null;
  readonly #stop: readonly string[];
  readonly #idPrefix: string;
  /** Text not yet resolved; everything before it was sent, held as whitespace, or parsed. */
  #tail = "";
  /** The tail starts with an open `<tool_call>` (hermes); the close tag is searched from #closeScan. */
  #inBlock = false;
  #closeScan = 0;
  /** A stop string was seen: nothing after it counts. */
  #stopped = false;
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

  /** Adds newly generated text; returns what may be sent now. */
  push(piece: string): StreamDelta {
    if (this.#stopped) return { content: "", toolCalls: [] };
    this.#tail += piece;
    // A complete stop string cannot be in the text (generation ends there), but be safe. A stop
    // string can only start inside the tail: a possible start is never resolved.
    for (const s of this.#stop) {
      const at = this.#tail.indexOf(s);
      if (at >= 0) {
        this.#tail = this.#tail.slice(0, at);
        this.#stopped = true;
      }
    }
    let content = "";
    if (this.#format === null) {
      content = this.#emit(this.#takeSafe(this.#stop));
    } else if (this.#format === "llama3-json") {
      if (this.#llamaMode === "undecided") {
        const head = this.#tail.trimStart();
        // A reply that starts like a JSON call is only known at the end.
        if (head.startsWith("{") || head.startsWith(LLAMA_PYTHON_TAG)) this.#llamaMode = "call";
        else if (head !== "" && !LLAMA_PYTHON_TAG.startsWith(head)) this.#llamaMode = "prose";
      }
      if (this.#llamaMode === "prose") content = this.#emitTrimmed(this.#takeSafe(this.#stop));
    } else {
      content = this.#hermes();
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

  /** Removes and returns the tail minus an end that could start one of `patterns`. */
  #takeSafe(patterns: readonly string[]): string {
    const end = this.#stopped ? this.#tail.length : this.#tail.length - partialSuffix(this.#tail, patterns);
    const piece = this.#tail.slice(0, end);
    this.#tail = this.#tail.slice(end);
    return piece;
  }

  #emit(piece: string): string {
    this.#sent += piece;
    return piece;
  }

  /** Content as `parseToolCalls` trims it: no leading whitespace, trailing whitespace held back. */
  #emitTrimmed(piece: string): string {
    let s = this.#heldSpace + piece;
    if (this.#sent === "") s = s.trimStart();
    const body = s.trimEnd();
    this.#heldSpace = s.slice(body.length);
    return this.#emit(body);
  }

  #hermes(): string {
    let out = "";
    for (;;) {
      if (this.#inBlock) {
        const close = this.#tail.indexOf(HERMES_CLOSE, Math.max(HERMES_OPEN.length, this.#closeScan - HERMES_CLOSE.length + 1));
        if (close < 0) {
          this.#closeScan = this.#tail.length;
          return out;
        }
        const end = close + HERMES_CLOSE.length;
        const block = this.#tail.slice(0, end);
        this.#tail = this.#tail.slice(end);
        this.#inBlock = false;
        const parsed = parseToolCalls(block, "hermes");
        if (parsed.toolCalls.length === 1) this.#calls.push({ ...parsed.toolCalls[0]!, id: `${this.#idPrefix}_${this.#calls.length}` });
        else out += this.#emitTrimmed(block); // malformed: stays content, as in parseToolCalls
        continue;
      }
      const open = this.#tail.indexOf(HERMES_OPEN);
      if (open < 0) return out + this.#emitTrimmed(this.#takeSafe([HERMES_OPEN, ...this.#stop]));
      out += this.#emitTrimmed(this.#tail.slice(0, open));
      this.#tail = this.#tail.slice(open);
      this.#inBlock = true;
      this.#closeScan = HERMES_OPEN.length;
    }
  }
}
