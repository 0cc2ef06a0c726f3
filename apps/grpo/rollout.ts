/**
 * Single-turn rollouts: prompts → n completions each → rewards → groups. `finishGroups` (shared
 * with the multi-turn source) then filters groups, assigns advantages and adds reference logprobs.
 */
import type { Completion as GenCompletion, SamplingParams } from "../../src/generation/index.ts";
import type { BatchGenerator } from "../../src/rollout/index.ts";
import { assignAdvantages, createEpisode, filterZeroVarianceGroups, type Episode, type Group } from "../../src/rl/index.ts";
import type { RewardSet } from "../../src/rewards/index.ts";
import type { PromptExample } from "../../src/data/index.ts";
import { recordMetric } from "../../src/observability/index.ts";
import type { ReferenceScorer } from "./reference-model.ts";

export interface GroupFilters {
  /** In the controller or a service (`reference-model.ts`); null: no KL term. */
  refModel: ReferenceScorer | null;
  filterZeroVariance: boolean;
  filterTruncated: boolean;
  advantageMethod: "grpo" | "dr-grpo";
  /**
   * The sampling temperature: reference logprobs are scored at it, like the policy's (as verl
   * does), so the KL term compares the two policies the generator actually samples from. @default 1
   */
  temperature?: number;
}

export interface RolloutOptions extends GroupFilters {
  engine: BatchGenerator;
  rewards: RewardSet;
  examples: PromptExample[];
  promptIds: number[][];
  sampling: SamplingParams & { n: number };
  /** Each prompt's sampling seed (its samples' streams derive from it); default: from `sampling.seed` and its index. */
  requestSeeds?: number[];
}

export interface RolloutResult {
  episodes: Episode[];
  groups: number;
  keptGroups: number;
  meanReward: number;
}

export async function rollout(o: RolloutOptions): Promise<RolloutResult> {
  const t0 = performance.now();
  const completions = await o.engine.generate(
    o.promptIds.map((prompt, i) => (o.requestSeeds ? { prompt, seed: o.requestSeeds[i]! } : { prompt })),
    o.sampling,
  );
  const genS = (performance.now() - t0) / 1000;
  const byRequest: GenCompletion[][] = o.examples.map(() => []);
  for (const c of completions) byRequest[c.requestIndex]!.push(c);

  const t1 = performance.now();
  const groups: Group[] = [];
  let rewardSum = 0;
  let generated = 0;
  for (const [i, cs] of byRequest.entries()) {
    const ex = o.examples[i]!;
    const scored = await o.rewards.evaluateBatch(
      cs.map((c) => ({ prompt: ex.prompt, response: c.text, target: ex.target, responseTokens: c.tokenIds.length })),
    );
    const episodes = cs.map((c, j) => {
      const s = scored[j]!;
      rewardSum += s.reward;
      generated += c.tokenIds.length;
      for (const [name, v] of Object.entries(s.breakdown)) recordMetric(`reward/${name}`, v);
      if (s.failures.length) recordMetric("reward/failures", s.failures.length, "sum");
      recordMetric("generator/response_length", c.tokenIds.length);
      recordMetric("generator/truncated_fraction", c.stopReason === "length" ? 1 : 0);
      return createEpisode({
        id: `${ex.id}/${c.sampleIndex}`,
        prompt: ex.prompt,
        target: ex.target,
        completion: c,
        reward: s.reward,
        rewardBreakdown: s.breakdown,
      });
    });
    groups.push({ prompt: ex.prompt, target: ex.target, episodes });
  }
  const rewardS = (performance.now() - t1) / 1000;
  recordMetric("main_perf/reward_s", rewardS, "sum");
  recordMetric("main_perf/score_s", rewardS, "sum");
  const { episodes, keptGroups } = await finishGroups(groups, o);
  const n = completions.length;
  recordMetric("reward/mean", rewardSum / Math.max(1, n));
  recordMetric("generator/tokens_per_s", generated / Math.max(1e-9, genS));
  recordMetric("main_perf/generate_s", genS, "sum");
  return { episodes, groups: groups.length, keptGroups, meanReward: rewardSum / Math.max(1, n) };
}

/**
 * Groups → trainable episodes: drop groups with a truncated episode (when asked) and groups whose
 * rewards are all equal (when asked), assign advantages within each group, and score the
 * reference model's logprobs when there is one.
 */
export async function finishGroups(groups: Group[], o: GroupFilters): Promise<{ episodes: Episode[]; keptGroups: number }> {
  let kept = o.filterTruncated ? groups.filter((g) => g.episodes.every((e) => e.completion.stopReason !== "length")) : groups;
  if (o.filterZeroVariance) kept = filterZeroVarianceGroups(kept).kept;
  assignAdvantages(kept, { method: o.advantageMethod });
  const episodes = kept.flatMap((g) => g.episodes);
  if (o.refModel && episodes.length) {
    const t = performance.now();
    await addRefLogprobs(o.refModel, episodes, o.temperature ?? 1);
    const refS = (performance.now() - t) / 1000;
    recordMetric("main_perf/ref_logprobs_s", refS, "sum");
    recordMetric("main_perf/score_s", refS, "sum");
  }
  recordMetric("rollout/kept_group_fraction", kept.length / Math.max(1, groups.length));
  return { episodes, keptGroups: kept.length };
}

/** Reference-model logprobs of each response token at the sampling temperature, scored with its prompt as context. */
async function addRefLogprobs(ref: ReferenceScorer, episodes: Episode[], temperature: number): Promise<void> {
  const rows = episodes.map((e) => [...e.completion.promptIds, ...e.completion.tokenIds]);
  const logprobs = await ref.logprobs(rows, temperature); // entry t scores token t+1
  episodes.forEach((e, i) => {
    const p = e.completion.promptIds.length;
    e.refLogprobs = logprobs[i]!.slice(p - 1, p - 1 + e.completion.tokenIds.length);
  });
}
