/** How a dataset prompt becomes token ids: the tokenizer's chat template, or the raw text. */
import type { Tokenizer } from "../../src/models/index.ts";
import type { PromptExample } from "../../src/data/index.ts";

export interface PromptFormat {
  promptFormat: "chat" | "raw";
  systemPrompt: string | null;
  /** Example exchanges before the prompt (chat only). */
  fewShot?: readonly { user: string; assistant: string }[];
}

/**
 * A prompt text, or a dataset example (whose chat `messages`, when it has them, are used as
 * given; `system_prompt` is put first only when they have no system message of their own).
 */
export function encodePrompt(tokenizer: Tokenizer, prompt: string | PromptExample, format: PromptFormat): number[] {
  const text = typeof prompt === "string" ? prompt : prompt.prompt;
  const chat = typeof prompt === "string" ? undefined : prompt.messages;
  if (format.promptFormat === "raw") {
    if (chat)
      throw new TypeError(
        `dataset.prompt_format 'raw' cannot encode the chat (messages) prompt of '${(prompt as PromptExample).id}'; ` +
          "use prompt_format: chat",
      );
    return tokenizer.encode(text, { addSpecialTokens: true });
  }
  const turns = chat ?? [{ role: "user", content: text }];
  const system = format.systemPrompt && turns[0]?.role !== "system" ? [{ role: "system", content: format.systemPrompt }] : [];
  // Example exchanges (dataset.few_shot) go after any system message, before the question.
  const [lead, rest] = turns[0]?.role === "system" ? [[turns[0]], turns.slice(1)] : [[], turns];
  const examples = (format.fewShot ?? []).flatMap((turn) => [
    { role: "user", content: turn.user },
    { role: "assistant", content: turn.assistant },
  ]);
  return tokenizer.applyChatTemplate([...system, ...lead, ...examples, ...rest], { addGenerationPrompt: true, tokenize: true });
}
