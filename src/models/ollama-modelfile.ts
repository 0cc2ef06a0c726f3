/**
 * An Ollama `Modelfile` for an exported GGUF: `FROM` the file, the chat template rewritten as the
 * Go template Ollama renders (`TEMPLATE`), the default system prompt the Jinja template injects
 * (`SYSTEM`), and the stop strings (`PARAMETER stop`).
 *
 * Jinja is not translated in general: the template is recognised by family — ChatML
 * (`<|im_start|>`: SmolLM2, Qwen2/2.5/3) and Llama 3 (`<|start_header_id|>`) — and that family's
 * plain turn layout is written. Not converted: tool definitions and tool calls, Qwen3's
 * `<think>` handling, Llama 3.1's "Cutting Knowledge Date" system header, and any other custom
 * logic; for an unrecognised template no TEMPLATE is written and Ollama falls back to matching
 * the GGUF's `tokenizer.chat_template` against the templates it knows.
 * @example writeFileAtomic("Modelfile", ollamaModelfile({ from: "./model.gguf", tokenizer }));
 */
import type { Tokenizer } from "./tokenizer.ts";

export type ChatTemplateFamily = "chatml" | "llama3";

const GO_TEMPLATES: Record<ChatTemplateFamily, string> = {
  chatml: `{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`,
  llama3: `{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}<|start_header_id|>assistant<|end_header_id|>

`,
};
/** Turn markers that must end generation even when the tokenizer does not list them as stops. */
const FAMILY_STOPS: Record<ChatTemplateFamily, string[]> = {
  chatml: ["<|im_start|>", "<|im_end|>"],
  llama3: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
};

/** The template family of a Jinja chat template, or undefined when it is neither ChatML nor Llama 3. */
export function chatTemplateFamily(jinja: string | undefined): ChatTemplateFamily | undefined {
  if (jinja === undefined) return undefined;
  if (jinja.includes("<|im_start|>")) return "chatml";
  if (jinja.includes("<|start_header_id|>")) return "llama3";
  return undefined;
}

/** The Go template Ollama uses for a family (messages, then the assistant header). */
export function ollamaTemplate(family: ChatTemplateFamily): string {
  return GO_TEMPLATES[family];
}

/** A system prompt the ChatML template writes when the conversation has none (SmolLM2 does), or undefined. */
export function defaultSystemPrompt(jinja: string): string | undefined {
  // The newline is a real one or a Jinja string escape (`\n`), depending on how the template was saved.
  const m = /<\|im_start\|>system(?:\n|\\n)([^'"{}\\]+)<\|im_end\|>/.exec(jinja);
  return m?.[1];
}

export interface OllamaModelfileOptions {
  /** Path of the GGUF as the Modelfile should name it, e.g. "./model.gguf". */
  from: string;
  tokenizer: Tokenizer;
}

function quoted(s: string): string {
  return `"""${s.replaceAll('"""', '\\"\\"\\"')}"""`;
}

export function ollamaModelfile({ from, tokenizer }: OllamaModelfileOptions): string {
  const jinja = tokenizer.chatTemplate;
  const family = chatTemplateFamily(jinja);
  const lines = ["# Written by torchforge `forge export`.", `FROM ${from}`, ""];
  if (family === undefined) {
    lines.push(
      jinja === undefined
        ? "# The tokenizer has no chat template: no TEMPLATE written (raw prompts)."
        : "# The chat template is neither ChatML nor Llama 3: no TEMPLATE written; Ollama matches the GGUF's tokenizer.chat_template against the templates it knows.",
    );
  } else {
    lines.push(`# ${family === "chatml" ? "ChatML" : "Llama 3"} turns only; tools, reasoning blocks and other Jinja logic are not converted.`);
    lines.push(`TEMPLATE ${quoted(ollamaTemplate(family))}`);
    const system = defaultSystemPrompt(jinja!);
    if (system !== undefined) lines.push(`SYSTEM ${quoted(system)}`);
  }
  const stops = new Set<string>();
  for (const id of tokenizer.stopTokenIds) {
    const t = tokenizer.idToToken(id);
    if (t !== undefined) stops.add(t);
  }
  for (const t of family ? FAMILY_STOPS[family] : []) stops.add(t);
  for (const s of stops) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
  return `${lines.join("\n")}\n`;
}
