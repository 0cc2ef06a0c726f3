/**
 * What a reward is. Any `(prompt, response, target) => number | Promise<number>` function is a
 * reward; classes such as `MathReward` implement `Reward` so they can carry options and a name.
 */

/** Extra facts about the completion that some rewards need; all optional. */
export interface RewardContext {
  /** Number of tokens in the response (from the generator), used by length-based rewards. */
  responseTokens?: number;
  /** Aborted when `RewardSet`'s timeout fires, so long-running async rewards can stop early. */
  signal?: AbortSignal;
}

/** A plain reward function. Higher is better; the value must be a finite number. */
export type RewardFunction = (
  prompt: string,
  response: string,
  target: string,
  context?: RewardContext,
) => number | Promise<number>;

/** A reward object with a name (used in breakdowns and metric names). */
export interface Reward {
  readonly name: string;
  evaluate(prompt: string, response: string, target: string, context?: RewardContext): number | Promise<number>;
}

/** Either form of reward. */
export type RewardLike = RewardFunction | Reward;

/** Turns either form into a plain function (bound, so `this` survives). */
export function toRewardFunction(reward: RewardLike): RewardFunction {
  if (typeof reward === "function") return reward;
  return (prompt, response, target, context) => reward.evaluate(prompt, response, target, context);
}

/** The name a reward reports under: its `name` property, else the function's name. */
export function rewardName(reward: RewardLike): string | undefined {
  const name = reward.name;
  return typeof name === "string" && name.length > 0 ? name : undefined;
}
