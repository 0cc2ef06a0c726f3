import type { ChatMessage } from "./sft-records.ts";

/** What an RL prompt dataset yields: a prompt to generate from and the target rewards compare to. */
export interface PromptExample {
  /** Stable identifier (split and position, or problem text), for logging and dedup. */
  id: string;
  /** Text given to the model (before any chat template, which belongs to the tokenizer). */
  prompt: string;
  /**
   * The prompt as a chat (OpenAI `messages` shape, ending in a user turn) when the dataset gives
   * one; then `prompt` is its last user message, for rewards and logs.
   */
  messages?: ChatMessage[];
  /** Reference answer as text, the `target` every reward receives. */
  target: string;
}
