/** How a dataset prompt becomes token ids: the tokenizer's chat template, or the raw text. */
import type { Tokenizer } from "../../src/models/index.ts";

export interface PromptFormat {
  promptFormat: "chat" | "raw";
  systemPrompt: string | null;
  /** Example exchanges before the prompt (chat only). */
  fewShot?: readonly { user: string; assistant: string }[];
}

export function encodePrompt(tokenizer: Tokenizer, prompt: string, format: PromptFormat): number[] {
  if (format.promptFormat === "raw") return tokenizer.encode(prompt, { addSpecialTokens: true });
  const messages = [
    ...(format.systemPrompt ? [{ role: "system", content: format.systemPrompt }] : []),
    ...(format.fewShot ?? []).flatMap((turn) => [
      { role: "user", content: turn.user },
      { role: "assistant", content: turn.assistant },
    ]),
    { role: "user", content: prompt },
  ];
  return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true });
}
