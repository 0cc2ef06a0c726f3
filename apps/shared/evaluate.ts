/**
 * Held-out evaluation: greedy accuracy (the answer in `<answer>` equals the target, as
 * `MathReward` judges it) and, with `samples` > 1, pass@k at a sampling temperature.
 */
import type { Completion, SamplingParams } from "../../src/generation/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import { MathReward } from "../../src/rewards/index.ts";

export interface EvalOptions {
  /** Prompts as token ids, aligned with `examples`. */
  promptIds: number[][];
  maxTokens: number;
  /** Samples per prompt for pass@k (1: greedy accuracy only). @default 1 */
  samples?: number;
  /** Temperature for pass@k sampling. @default 1 */
  temperature?: number;
  seed?: number;
}

export interface EvalResult {
  accuracy: number;
  passAtK?: number;
  k: number;
  meanResponseTokens: number;
  /** One greedy completion, for logs. */
  sample: string;
}

const judge = new MathReward();

/** What evaluation and rollouts need of a generator: an in-process engine or a service proxy. */
export interface Generator {
  generate(requests: { prompt: number[] }[], sampling: SamplingParams): Promise<Completion[]>;
}

export async function evaluate(engine: Generator, examples: readonly PromptExample[], options: EvalOptions): Promise<EvalResult> {
  const requests = options.promptIds.map((prompt) => ({ prompt }));
  const greedy = await engine.generate(requests, { greedy: true, maxTokens: options.maxTokens });
  let correct = 0;
  let tokens = 0;
  greedy.forEach((c, i) => {
    correct += judge.evaluate("", c.text, examples[i]!.target) === 1 ? 1 : 0;
    tokens += c.tokenIds.length;
  });
  const result: EvalResult = {
    accuracy: correct / greedy.length,
    k: 1,
    meanResponseTokens: tokens / greedy.length,
    sample: greedy[0]?.text ?? "",
  };
  const k = options.samples ?? 1;
  if (k > 1) {
    const sampled = await engine.generate(requests, {
      n: k,
      temperature: options.temperature ?? 1,
      maxTokens: options.maxTokens,
      seed: options.seed ?? 0,
    });
    const solved = new Set<number>();
    for (const c of sampled) if (judge.evaluate("", c.text, examples[c.requestIndex]!.target) === 1) solved.add(c.requestIndex);
    result.passAtK = solved.size / examples.length;
    result.k = k;
  }
  return result;
}
