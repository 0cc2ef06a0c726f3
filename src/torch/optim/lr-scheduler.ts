/**
 * Learning-rate schedules: linear warmup, then constant, cosine or linear decay to
 * `minLrRatio × base`. `step()` is called once per optimizer step, like PyTorch's schedulers.
 */
import type { Optimizer } from "./optimizer.ts";

export interface WarmupScheduleOptions {
  /** Steps of linear warmup from 0 to the base rate. @default 0 */
  warmupSteps?: number;
  /** Total optimizer steps (needed by cosine and linear decay). */
  totalSteps?: number;
  /** @default "constant" */
  decay?: "constant" | "cosine" | "linear";
  /** Final rate as a fraction of the base rate. @default 0 */
  minLrRatio?: number;
}

export class LRSchedulerError extends Error {
  override name = "LRSchedulerError";
}

/** The factor applied to each group's base rate at a given step. */
export function warmupFactor(step: number, options: WarmupScheduleOptions): number {
  const warmup = options.warmupSteps ?? 0;
  const minRatio = options.minLrRatio ?? 0;
  if (step < warmup) return (step + 1) / (warmup + 1);
  const decay = options.decay ?? "constant";
  if (decay === "constant") return 1;
  const total = options.totalSteps!;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  const shape = decay === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minRatio + (1 - minRatio) * shape;
}

export class LRScheduler {
  #step = 0;
  readonly baseLrs: number[];

  constructor(
    private readonly optimizer: Optimizer<{ lr: number }>,
    private readonly options: WarmupScheduleOptions = {},
  ) {
    const { warmupSteps = 0, totalSteps, decay = "constant", minLrRatio = 0 } = options;
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new LRSchedulerError(`'warmupSteps' must be an integer >= 0; got ${warmupSteps}`);
    if (!["constant", "cosine", "linear"].includes(decay)) throw new LRSchedulerError(`'decay' must be constant, cosine or linear; got ${decay}`);
    if (decay !== "constant" && !(Number.isInteger(totalSteps) && totalSteps! > warmupSteps)) {
      throw new LRSchedulerError(`'totalSteps' must be an integer > warmupSteps (${warmupSteps}) for ${decay} decay; got ${totalSteps}`);
    }
    if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw new LRSchedulerError(`'minLrRatio' must be in [0, 1]; got ${minLrRatio}`);
    this.baseLrs = optimizer.paramGroups.map((g) => g.hyper.lr);
    this.apply();
  }

  /** Rates of every group at the current step. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.hyper.lr);
  }
  get lastStep(): number {
    return this.#step;
  }

  step(): void {
    this.#step += 1;
    this.apply();
  }

  private apply(): void {
    const f = warmupFactor(this.#step, this.options);
    this.optimizer.paramGroups.forEach((g, i) => (g.hyper.lr = this.baseLrs[i]! * f));
  }

  stateDict(): { step: number; baseLrs: number[] } {
    return { step: this.#step, baseLrs: [...this.baseLrs] };
  }
  loadStateDict(sd: { step: number; baseLrs: number[] }): void {
    if (sd.baseLrs.length !== this.baseLrs.length) {
      throw new LRSchedulerError(`state has ${sd.baseLrs.length} base rates, optimizer has ${this.baseLrs.length} groups`);
    }
    this.#step = sd.step;
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.baseLrs);
    this.apply();
  }
}
