// Greedy decoding in llama.cpp (the node-llama-cpp package, CPU build shipped with it, never
// compiled here) next to ours, for the GGUF export tests and bench/gguf-export.ts.
import type { Llama, Token } from "node-llama-cpp";
import { loadGguf } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";

let llama: Promise<Llama | string> | undefined;

/** node-llama-cpp's CPU backend, or the reason it cannot run here (tests skip with it). */
export function llamaCpp(): Promise<Llama | string> {
  llama ??= (async () => {
    try {
      const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
      return await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    } catch (err) {
      return `node-llama-cpp has no usable llama.cpp binary here: ${(err as Error).message}`;
    }
  })();
  return llama;
}

export interface GreedyRun {
  /** llama.cpp's own tokenization of each text prompt (no special tokens added beyond the text's). */
  promptIds: number[][];
  tokens: number[][];
}

/** Greedy continuations of `prompts` (token ids) by llama.cpp on `path`; EOG tokens do not stop it. */
export async function llamaCppGreedy(path: string, prompts: number[][], maxTokens: number, texts: string[] = []): Promise<GreedyRun> {
  const l = await llamaCpp();
  if (typeof l === "string") throw new Error(l);
  const model = await l.loadModel({ modelPath: path });
  try {
    const promptIds = texts.map((t) => [...model.tokenize(t, true)]);
    const tokens: number[][] = [];
    // One context for all prompts (creating one costs seconds); one thread: the CI box is small and ggml's
    // worker threads spin-wait, which only slows a tiny model down.
    const context = await model.createContext({ contextSize: Math.max(64, Math.max(...prompts.map((p) => p.length)) + maxTokens + 8), threads: 1 });
    try {
      const sequence = context.getSequence();
      for (const prompt of prompts) {
        await sequence.clearHistory();
        const out: number[] = [];
        for await (const t of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
          out.push(t);
          if (out.length >= maxTokens) break;
        }
        tokens.push(out);
      }
    } finally {
      await context.dispose();
    }
    return { promptIds, tokens };
  } finally {
    await model.dispose();
  }
}

/** Greedy continuations by our engine on the same GGUF file (loaded with our loader). */
export async function oursGreedy(path: string, prompts: number[][], maxTokens: number): Promise<number[][]> {
  const { model, tokenizer } = loadGguf(path);
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: prompts.length, maxSeqLen: Math.max(...prompts.map((p) => p.length)) + maxTokens + 1 });
  try {
    const out = await engine.generate(prompts, { greedy: true, maxTokens, ignoreEos: true });
    return out.map((c) => c.tokenIds);
  } finally {
    engine.dispose();
    model.dispose();
  }
}

/** Tokens equal before the first difference, per prompt. */
export function agreement(a: number[][], b: number[][]): number[] {
  return a.map((x, i) => {
    const y = b[i]!;
    let n = 0;
    while (n < x.length && n < y.length && x[n] === y[n]) n++;
    return n;
  });
}
