/** The trainer options both apps read the same way from their configs (optimizer, schedule, clipping). */
import type { ForwardModel, TrainerOptions } from "../../src/trainer/index.ts";

interface TrainingConfigShape {
  training: { learningRate: number; steps: number; maxNorm: number | null; maxBadSteps: number; activationCheckpointing: boolean };
  optimizer: {
    name: "AdamW" | "Adam" | "SGD";
    lr?: number | undefined;
    betas?: readonly number[] | undefined;
    eps?: number | undefined;
    weightDecay: number;
    momentum?: number | undefined;
    nesterov?: boolean | undefined;
  };
  lrScheduler: { warmupSteps: number; decayType: "constant" | "linear" | "cosine"; lrMin: number };
}

export function trainerOptionsFromConfig(
  config: TrainingConfigShape,
  log: (line: string) => void,
): Pick<TrainerOptions<unknown, ForwardModel>, "optimizer" | "schedule" | "maxNorm" | "maxBadSteps" | "activationCheckpointing" | "warn"> {
  const t = config.training;
  const o = config.optimizer;
  // optimizer.lr, when set, overrides training.learning_rate (the schedule's floor follows it).
  const lr = o.lr ?? t.learningRate;
  // The schema has refused keys the named optimizer lacks; unset ones (undefined) get its defaults.
  const optimizer = {
    name: o.name,
    lr,
    weightDecay: o.weightDecay,
    betas: o.betas as [number, number] | undefined,
    eps: o.eps,
    momentum: o.momentum,
    nesterov: o.nesterov,
  };
  return {
    optimizer,
    schedule: {
      warmupSteps: config.lrScheduler.warmupSteps,
      decay: config.lrScheduler.decayType,
      totalSteps: t.steps,
      minLrRatio: config.lrScheduler.lrMin / lr,
    },
    maxNorm: t.maxNorm,
    maxBadSteps: t.maxBadSteps,
    activationCheckpointing: t.activationCheckpointing,
    warn: (m) => log(`warning: ${m}`),
  };
}
