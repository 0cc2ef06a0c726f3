/**
 * `torchforge/trainer`: the train step (injected loss, grad accumulation with global token
 * normalisation, clipping, AdamW + LR schedule, NaN/inf skip) and atomic checkpoints.
 */
export { Trainer } from "./trainer.ts";
export type { TrainerOptions } from "./trainer.ts";
export type { OptimizerOptions, OptimizerName } from "./optimizer-options.ts";
export type { ForwardModel, LossFn, LossFnArgs, LossFnOutput } from "./types.ts";
export { policyLossFn, policyMicroBatches, countPolicyTokens, isHeadedModel, chunkedEntropy } from "./policy-loss-fn.ts";
export type { PolicyMicroBatch, PolicyLossFnOptions, HeadedModel } from "./policy-loss-fn.ts";
export { combineMicroBatchMetrics, trainStepMetrics } from "./step-metrics.ts";
export type { TrainStepResult } from "./step-metrics.ts";
export { MasterWeights, LossScaler, isLowPrecision } from "./mixed-precision.ts";
export type { LossScalerOptions, LossScalerState } from "./mixed-precision.ts";
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint, listCheckpoints, hasCheckpoint } from "./checkpoint.ts";
export type { SaveCheckpointOptions, LoadCheckpointOptions, LoadCheckpointResult, TrainerStateFile } from "./checkpoint.ts";
export { TrainerError, TrainerOptionError, NonFiniteLossError, CheckpointError } from "./errors.ts";
export { sftLossFn, countSftTokens } from "./sft-loss-fn.ts";
export type { SftMicroBatch } from "./sft-loss-fn.ts";
export { GradientAllReducer, broadcastTensors, allReduceNumbers, DEFAULT_BUCKET_BYTES } from "./data-parallel.ts";
export { OptimizerStateSharding, partitionByNumel } from "./optimizer-sharding.ts";
