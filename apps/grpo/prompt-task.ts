/**
 * The single-turn task: a rollout samples n completions for each of `promptsPerRollout` dataset
 * prompts and scores them with the configured rewards; eval is held-out greedy accuracy (and
 * pass@k with `eval.n_samples` > 1).
 */
import type { Tokenizer } from "../../src/models/index.ts";
import type { ReferenceScorer } from "./reference-model.ts";
import type { PromptExample } from "../../src/data/index.ts";
import { deriveSeed } from "../../src/generation/index.ts";
import type { RewardSet } from "../../src/rewards/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import { recordMetric } from "../../src/observability/index.ts";
import { encodePrompt } from "../shared/prompts.ts";
import { evaluate, type EvalResult } from "../shared/evaluate.ts";
import type { PolicyGenerator } from "./generator-placement.ts";
import type { CollectRollout } from "./rollout-driver.ts";
import { rollout } from "./rollout.ts";
import { GrpoConfigError } from "./errors.ts";

/** What differs between single-turn and agentic runs: collecting a rollout and scoring eval. */
export interface GrpoTask {
  /** For the start-up line, e.g. "single-turn prompts". */
  readonly description: string;
  collect: CollectRollout;
  evaluate(step: number): Promise<EvalResult>;
  close?(): Promise<void>;
}

export interface TaskContext {
  config: GrpoConfig;
  generator: PolicyGenerator;
  tokenizer: Tokenizer;
  refModel: ReferenceScorer | null;
  /** This rank's prompts (data-parallel runs: its share of each global batch; see RankShareSampler). */
  sampler: { sample(): PromptExample };
  /** Prompts per rollout on this rank. */
  promptsPerRollout: number;
  /** This process's data-parallel rank (0 without data parallelism). @default 0 */
  rank?: number;
  evalExamples: PromptExample[];
  maxSeqLen: number;
  log: (line: string) => void;
  /** Where eval appends trajectory samples for the dashboard. */
  samplesPath: string;
}

/**
 * Same seed rule as before the loop had named parts, so runs reproduce across the refactor. A
 * data-parallel rank > 0 gets its own stream (agent tasks; single-turn prompts seed each prompt by
 * its global index instead, see `promptSeeds`).
 */
export function rolloutSeed(config: GrpoConfig, tag: number, attempt: number, rank = 0): number {
  const seed = (config.training.seed * 1_000_003 + tag * 101 + attempt) >>> 0;
  return rank === 0 ? seed : deriveSeed(seed, rank);
}

/**
 * Each prompt's seed from its index in the GLOBAL rollout (all ranks' shares in rank order), as
 * the engine derives it for one process: N ranks sample exactly the completions one process
 * would for the same prompts, and no two ranks share a stream.
 */
export function promptSeeds(rolloutSeed: number, rank: number, promptsPerRank: number): number[] {
  return Array.from({ length: promptsPerRank }, (_, j) => deriveSeed(rolloutSeed, rank * promptsPerRank + j));
}

export function promptTask(c: TaskContext & { rewards: RewardSet }): GrpoTask {
  const { config, tokenizer } = c;
  const encode = (ex: PromptExample) => {
    const ids = encodePrompt(tokenizer, ex, config.dataset);
    if (ids.length > config.grpo.maxPromptTokens) {
      throw new GrpoConfigError(`prompt '${ex.id}' has ${ids.length} tokens > grpo.max_prompt_tokens (${config.grpo.maxPromptTokens})`);
    }
    return ids;
  };
  const evalPromptIds = c.evalExamples.map(encode);
  const g = config.grpo;
  return {
    description: "single-turn prompts",
    collect: async (tag, attempt) => {
      const examples = Array.from({ length: c.promptsPerRollout }, () => c.sampler.sample());
      const r = await rollout({
        engine: c.generator,
        rewards: c.rewards,
        examples,
        promptIds: examples.map(encode),
        refModel: c.refModel,
        sampling: {
          n: g.nSamples,
          temperature: g.temperature,
          topP: g.topP,
          topK: g.topK,
          minP: g.minP,
          maxTokens: g.maxNewTokens,
          stop: g.stop,
          seed: rolloutSeed(config, tag, attempt),
        },
        requestSeeds: promptSeeds(rolloutSeed(config, tag, attempt), c.rank ?? 0, c.promptsPerRollout),
        filterZeroVariance: g.filterZeroVariance,
        filterTruncated: g.filterTruncated,
        advantageMethod: g.scaleAdvantages ? "grpo" : "dr-grpo",
        temperature: g.temperature,
      });
      return r.episodes;
    },
    evaluate: async (step) => {
      const e = config.eval;
      const result = await evaluate(c.generator, c.evalExamples, {
        promptIds: evalPromptIds,
        maxTokens: g.maxNewTokens,
        samples: e.nSamples,
        temperature: e.temperature || 1,
        seed: step,
      });
      recordMetric("eval/accuracy", result.accuracy);
      if (result.passAtK !== undefined) recordMetric(`eval/pass@${result.k}`, result.passAtK);
      recordMetric("eval/response_length", result.meanResponseTokens);
      const passAtK = result.passAtK !== undefined ? `, pass@${result.k} ${(result.passAtK * 100).toFixed(1)}%` : "";
      c.log(
        `eval @ step ${step}: greedy accuracy ${(result.accuracy * 100).toFixed(1)}%${passAtK} — e.g. ${JSON.stringify(result.sample)}`,
      );
      return result;
    },
  };
}
