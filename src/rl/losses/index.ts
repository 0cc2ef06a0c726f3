/**
 * `torchforge/losses`: policy losses for RL post-training and the blocks to build new ones.
 * @example
 * import { SimpleGRPOLoss } from "torchforge/losses";
 * const { loss, metrics } = new SimpleGRPOLoss({ beta: 0.1 }).forward({ logprobs, refLogprobs, advantages, paddingMask });
 * loss.backward();
 */
export type { Loss, LossMetrics, LossOutput, PolicyLossInput } from "./types.ts";
export { PolicyLoss, computeMetrics, maskedMean } from "./policy-loss.ts";
export type { PolicyLossOptions, ObjectiveContext, PolicyObjective } from "./policy-loss.ts";
export { SimpleGRPOLoss } from "./simple-grpo-loss.ts";
export type { SimpleGRPOLossOptions } from "./simple-grpo-loss.ts";
export { ReinforceLoss } from "./reinforce-loss.ts";
export type { ReinforceLossOptions } from "./reinforce-loss.ts";
export { GRPOLoss } from "./grpo-loss.ts";
export type { GRPOLossOptions } from "./grpo-loss.ts";
export { DAPOLoss } from "./dapo-loss.ts";
export type { DAPOLossOptions } from "./dapo-loss.ts";
export { GSPOLoss } from "./gspo-loss.ts";
export type { GSPOLossOptions } from "./gspo-loss.ts";
export { CISPOLoss } from "./cispo-loss.ts";
export type { CISPOLossOptions } from "./cispo-loss.ts";
export { SAPOLoss } from "./sapo-loss.ts";
export type { SAPOLossOptions } from "./sapo-loss.ts";
export { PPOClipLoss } from "./ppo-clip-loss.ts";
export type { PPOClipLossOptions } from "./ppo-clip-loss.ts";
export { clippedObjective } from "./clipped-objective.ts";
export type { ClippedObjectiveOptions } from "./clipped-objective.ts";
export { tokenLogRatio, tokenRatio, clampedTokenRatio, outsideRatioClamp, sequenceLogRatio, sequenceRatio, LOG_RATIO_CLAMP } from "./ratio.ts";
export { klPenalty } from "./kl.ts";
export type { KLEstimator } from "./kl.ts";
export { aggregate, globalCounts, AGGREGATION_MODES } from "./aggregate.ts";
export type { AggregationMode, AggregateOptions } from "./aggregate.ts";
export { entropyFromLogits } from "./entropy.ts";
export { mismatchWeights } from "./importance-sampling.ts";
export type { ImportanceSamplingOptions } from "./importance-sampling.ts";
export { checkLossInput } from "./validate.ts";
