/**
 * Advantage estimators over scalar rewards (plain numbers, computed in float64).
 *
 * - GRPO: `(r − mean) / (std + eps)` per group. `std` is the unbiased (N−1) sample standard
 *   deviation and `eps = 1e-4`, matching torchforge's `ComputeAdvantages` and TRL's
 *   `GRPOTrainer` (both call `torch.std`, whose default is unbiased).
 * - Dr.GRPO: `r − mean` (no std division: the std term biases towards easy/hard prompts).
 * - RLOO: `r_i − mean(r_j, j ≠ i)` = `n/(n−1) · (r_i − mean)`.
 * - REINFORCE++-baseline: subtract the group mean, then whiten over the whole batch
 *   `(a − mean_batch) / (std_batch + eps)`.
 *
 * A group of one, or a group whose rewards are all equal, has zero advantages: nothing is ever
 * divided by zero and no NaN comes out. Non-finite rewards are rejected.
 */
import { RLOptionError } from "./errors.ts";
import type { Group } from "./types.ts";

export type AdvantageMethod = "grpo" | "dr-grpo" | "rloo" | "reinforce++-baseline";

export interface AdvantageOptions {
  /** @default "grpo" */
  method?: AdvantageMethod;
  /** Added to the std before dividing (GRPO, REINFORCE++ whitening). @default 1e-4 */
  eps?: number;
  /** Bessel's correction (N−1) in the std. @default true */
  unbiased?: boolean;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Sample standard deviation; 0 for fewer than two values (instead of NaN). */
export function std(xs: readonly number[], options: { unbiased?: boolean } = {}): number {
  const n = xs.length;
  const unbiased = options.unbiased ?? true;
  if (n === 0 || (unbiased && n < 2)) return 0;
  const m = mean(xs);
  const ss = xs.reduce((a, x) => a + (x - m) * (x - m), 0);
  return Math.sqrt(ss / (unbiased ? n - 1 : n));
}

function checkRewards(rewards: readonly number[], field = "rewards"): void {
  rewards.forEach((r, i) => {
    if (typeof r !== "number" || !Number.isFinite(r)) throw new RLOptionError(`${field}[${i}]`, "a finite number", r);
  });
}

function checkEps(eps: number): number {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RLOptionError("eps", "a finite number >= 0", eps);
  return eps;
}

/** True when every reward in the group is the same (within `tol`): GRPO learns nothing from it. */
export function isZeroVariance(rewards: readonly number[], options: { tol?: number } = {}): boolean {
  if (rewards.length === 0) return true;
  const tol = options.tol ?? 0;
  return Math.max(...rewards) - Math.min(...rewards) <= tol;
}

/** GRPO group-normalised advantages `(r − mean) / (std + eps)`. */
export function grpoAdvantages(rewards: readonly number[], options: { eps?: number; unbiased?: boolean } = {}): number[] {
  checkRewards(rewards);
  const eps = checkEps(options.eps ?? 1e-4);
  if (isZeroVariance(rewards)) return rewards.map(() => 0); // also covers n = 1
  const m = mean(rewards);
  const s = std(rewards, { unbiased: options.unbiased });
  if (s + eps === 0) return rewards.map(() => 0);
  return rewards.map((r) => (r - m) / (s + eps));
}

/** Dr.GRPO advantages `r − mean` (no std normalisation). */
export function drGrpoAdvantages(rewards: readonly number[]): number[] {
  checkRewards(rewards);
  const m = mean(rewards);
  return rewards.map((r) => (isZeroVariance(rewards) ? 0 : r - m));
}

/** RLOO leave-one-out advantages `r_i − mean_{j≠i} r_j`; 0 for a group of one. */
export function rlooAdvantages(rewards: readonly number[]): number[] {
  checkRewards(rewards);
  const n = rewards.length;
  if (n < 2) return rewards.map(() => 0);
  const total = rewards.reduce((a, b) => a + b, 0);
  return rewards.map((r) => r - (total - r) / (n - 1));
}

/**
 * REINFORCE++-baseline: per group `r − mean(group)`, then whitened over all groups together.
 * @returns one array of advantages per group, in input order
 */
export function reinforcePlusPlusBaselineAdvantages(
  groups: readonly (readonly number[])[],
  options: { eps?: number; unbiased?: boolean } = {},
): number[][] {
  const eps = checkEps(options.eps ?? 1e-4);
  groups.forEach((g, i) => checkRewards(g, `groups[${i}]`));
  const centred = groups.map((g) => {
    const m = mean(g);
    return g.map((r) => r - m);
  });
  const all = centred.flat();
  if (all.length === 0 || isZeroVariance(all)) return centred.map((g) => g.map(() => 0));
  const m = mean(all);
  const s = std(all, { unbiased: options.unbiased });
  return centred.map((g) => g.map((a) => (a - m) / (s + eps)));
}

export interface AssignAdvantagesResult {
  /** Advantages per group, in input order (also written to each `episode.advantage`). */
  advantages: number[][];
  /** Indices of groups whose rewards have zero variance (candidates for dynamic sampling). */
  zeroVarianceGroups: number[];
}

/** Computes advantages for whole groups with `method` and writes them to `episode.advantage`. */
export function assignAdvantages(groups: readonly Group[], options: AdvantageOptions = {}): AssignAdvantagesResult {
  const method = options.method ?? "grpo";
  const rewards = groups.map((g) => g.episodes.map((e) => e.reward));
  let advantages: number[][];
  switch (method) {
    case "grpo":
      advantages = rewards.map((r) => grpoAdvantages(r, options));
      break;
    case "dr-grpo":
      advantages = rewards.map((r) => drGrpoAdvantages(r));
      break;
    case "rloo":
      advantages = rewards.map((r) => rlooAdvantages(r));
      break;
    case "reinforce++-baseline":
      advantages = reinforcePlusPlusBaselineAdvantages(rewards, options);
      break;
    default:
      throw new RLOptionError("method", '"grpo", "dr-grpo", "rloo" or "reinforce++-baseline"', method);
  }
  groups.forEach((g, i) => g.episodes.forEach((e, j) => (e.advantage = advantages[i]![j]!)));
  const zeroVarianceGroups = rewards.flatMap((r, i) => (isZeroVariance(r) ? [i] : []));
  return { advantages, zeroVarianceGroups };
}

/** Splits groups into those with reward variance (kept) and those without (dropped): DAPO's dynamic sampling filter. */
export function filterZeroVarianceGroups<G extends Group>(groups: readonly G[], options: { tol?: number } = {}): { kept: G[]; dropped: G[] } {
  const kept: G[] = [];
  const dropped: G[] = [];
  for (const g of groups) (isZeroVariance(g.episodes.map((e) => e.reward), options) ? dropped : kept).push(g);
  return { kept, dropped };
}
