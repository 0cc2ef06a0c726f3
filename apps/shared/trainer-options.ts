/** The trainer options both apps read the same way from their configs (optimizer, schedule, clipping). */
import type { ForwardModel, TrainerOptions } from "../../src/trainer/index.ts";

interface TrainingConfigShape {
  training: { learningRate: number; steps: number; maxNorm: number | null; maxBadSteps: number; activationCheckpointing: boolean };
  optimizer: { betas: readonly number[]; eps: number; weightDecay: number };
  lrScheduler: { warmupSteps: number; decayType: "constant" | "linear" | "cosine"; lrMin: number };
}

export function trainerOptionsFromConfig(
  config: TrainingConfigShape,
  log: (line: string) => void,
): Pick<TrainerOptions<unknown, ForwardModel>, "optimizer" | "schedule" | "maxNorm" | "maxBadSteps" | "activationCheckpointing" | "warn"> {
  const t = config.training;
  return {
    optimizer: {
      lr: t.learningRate,
      betas: config.optimizer.betas as [number, number],
      eps: config.optimizer.eps,
      weightDecay: config.optimizer.weightDecay,
    },
    schedule: {
      warmupSteps: config.lrScheduler.warmupSteps,
      decay: config.lrScheduler.decayType,
      totalSteps: t.steps,
      minLrRatio: config.lrScheduler.lrMin / t.learningRate,
    },
    maxNorm: t.maxNorm,
    maxBadSteps: t.maxBadSteps,
    activationCheckpointing: t.activationCheckpointing,
    warn: (m) => log(`warning: ${m}`),
  };
}
