/**
 * Chat templates rendered with @huggingface/jinja, with the context transformers gives them
 * (`messages`, `add_generation_prompt`, special-token strings; the library itself provides
 * `raise_exception` and `strftime_now`).
 */
import { Template } from "@huggingface/jinja";
import { TokenizerError } from "./tokenizer-error.ts";

/** One chat turn. Extra fields (`reasoning_content`, `tool_calls`, ...) reach the template as-is. */
export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

export interface RenderChatOptions {
  addGenerationPrompt: boolean;
  /** Only passed when set, since templates test `enable_thinking is defined`. */
  enableThinking?: boolean;
  tools?: unknown[];
  specialTokens: Record<string, string | undefined>;
  /** More template variables, by their template (snake_case) names. */
  extraContext?: Record<string, unknown>;
}

/** A parsed template, reused across calls (parsing dominates for short conversations). */
export class ChatTemplate {
  readonly source: string;
  private readonly template: Template;

  constructor(source: string, { path }: { path?: string } = {}) {
    this.source = source;
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new TokenizerError(`chat template does not parse: ${(err as Error).message}`, { path, cause: err });
    }
  }

  render(messages: readonly ChatMessage[], opts: RenderChatOptions): string {
    const context: Record<string, unknown> = {
      ...opts.specialTokens,
      ...opts.extraContext,
      messages,
      add_generation_prompt: opts.addGenerationPrompt,
    };
    if (opts.enableThinking !== undefined) context.enable_thinking = opts.enableThinking;
    if (opts.tools !== undefined) context.tools = opts.tools;
    try {
      return this.template.render(context);
    } catch (err) {
      throw new TokenizerError(`chat template failed to render: ${(err as Error).message}`, { cause: err });
    }
  }
}
