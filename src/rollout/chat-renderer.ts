/**
 * Token-faithful chat rendering for multi-turn rollouts. A conversation's next prompt is built as
 * previous ids + the ids the generator sampled + the tokens of the new messages, never by
 * re-tokenizing the history: a re-render can rewrite earlier turns (Qwen3 drops past `<think>`
 * blocks, templates re-format tool-call JSON), and training on ids the model did not sample
 * trains on a different sequence than the one whose logprobs were recorded.
 *
 * The new messages are rendered as a *delta against the template*: a probe conversation
 * `[user, assistant(PROBE)] + newMessages` is rendered with the generation prompt, and the text
 * after PROBE — the template's end of the assistant turn, the new messages, the next assistant
 * header — is what follows the sampled tokens. When the sample ended on a stop token that the
 * template writes itself (`<|im_end|>`), that token is already in the sampled ids and is cut
 * from the front of the delta.
 *
 * It does not parse tool calls or run environments; see `run-episode.ts`.
 */
import type { ChatMessage } from "../models/index.ts";
import { RolloutError } from "./errors.ts";

/** What the renderer needs of a tokenizer (src/models' `Tokenizer` fits). */
export interface RenderTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  applyChatTemplate(
    messages: readonly ChatMessage[],
    options: { addGenerationPrompt?: boolean; tools?: unknown[]; enableThinking?: boolean; extraContext?: Record<string, unknown>; tokenize?: false },
  ): string;
  /** Ids that end generation (their text is what the template writes at a turn's end). */
  readonly stopTokenIds: readonly number[];
}

export interface ChatRendererOptions {
  /** Tool schemas for the template's `tools` (the same on every render of a conversation). */
  tools?: unknown[];
  /** Qwen3-style thinking switch, passed to every render. */
  enableThinking?: boolean;
  /** Converts OpenAI-shaped messages to what the template expects (e.g. tool-call arguments as objects). */
  toTemplate?: (messages: readonly ChatMessage[]) => ChatMessage[];
}

/** A text that no chat template rewrites and no conversation contains. */
const PROBE = "\u2063probe-7f3a\u2063";

export class ChatRenderer {
  readonly tokenizer: RenderTokenizer;
  readonly #options: ChatRendererOptions;
  readonly #stopTexts: { id: number; text: string }[];

  constructor(tokenizer: RenderTokenizer, options: ChatRendererOptions = {}) {
    this.tokenizer = tokenizer;
    this.#options = options;
    this.#stopTexts = tokenizer.stopTokenIds.map((id) => ({ id, text: tokenizer.decode([id]) })).filter((s) => s.text.length > 0);
  }

  /** The whole conversation as the template renders it, as text. */
  renderText(messages: readonly ChatMessage[], { addGenerationPrompt }: { addGenerationPrompt: boolean }): string {
    const convert = this.#options.toTemplate ?? ((m: readonly ChatMessage[]) => [...m]);
    return this.tokenizer.applyChatTemplate(convert(messages), {
      addGenerationPrompt,
      ...(this.#options.tools !== undefined ? { tools: this.#options.tools } : {}),
      ...(this.#options.enableThinking !== undefined ? { enableThinking: this.#options.enableThinking } : {}),
    });
  }

  /** First prompt of a conversation: the template's render with the generation prompt. */
  initialPrompt(messages: readonly ChatMessage[]): number[] {
    if (messages.length === 0) throw new RolloutError("messages", "is empty; an episode starts from at least one message");
    return this.tokenizer.encode(this.renderText(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  }

  /**
   * Tokens that follow an assistant turn's sampled ids when `newMessages` are appended: the
   * template's turn end (minus a stop token the sample already ends with), the messages, and the
   * next assistant header.
   */
  continuation(sampledIds: readonly number[], newMessages: readonly ChatMessage[]): number[] {
    const probe: ChatMessage[] = [
      { role: "user", content: "?" },
      { role: "assistant", content: PROBE },
    ];
    const text = this.renderText([...probe, ...newMessages], { addGenerationPrompt: true });
    const at = text.indexOf(PROBE);
    if (at < 0 || text.indexOf(PROBE, at + 1) >= 0) {
      throw new RolloutError("chat template", "does not render an assistant message's content verbatim exactly once; multi-turn rollouts need that to find where a turn ends");
    }
    let delta = text.slice(at + PROBE.length);
    const last = sampledIds.at(-1);
    const stop = this.#stopTexts.find((s) => s.id === last);
    if (stop && delta.startsWith(stop.text)) delta = delta.slice(stop.text.length);
    return delta.length === 0 ? [] : this.tokenizer.encode(delta, { addSpecialTokens: false });
  }
}
