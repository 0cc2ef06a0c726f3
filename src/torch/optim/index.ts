/** `torch.optim`: optimizers, learning-rate schedules and gradient clipping. */
export { Optimizer, OptimizerError } from "./optimizer.ts";
export type { ParamGroup, ResolvedGroup, ParamState, OptimizerStateDict } from "./optimizer.ts";
export { AdamW } from "./adamw.ts";
export { Adam } from "./adam.ts";
export type { AdamOptions } from "./adam.ts";
export type { AdamWOptions } from "./adamw.ts";
export { SGD } from "./sgd.ts";
export type { SGDOptions } from "./sgd.ts";
export { LRScheduler, LRSchedulerError, warmupFactor } from "./lr-scheduler.ts";
export type { WarmupScheduleOptions } from "./lr-scheduler.ts";
export { clipGradNorm } from "./clip-grad.ts";
export { saveOptimizerState, loadOptimizerState } from "./serialization.ts";
