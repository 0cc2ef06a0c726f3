/**
 * Mixed precision for the trainer: the model's parameters stay in the compute dtype (bf16/fp16;
 * forward, backward and the generator all use them), while the optimizer works on float32
 * MASTER copies with float32 state. After backward the compute-dtype gradients move to the
 * masters (unscaled, in float32), clipping and AdamW run there, and the masters are copied back
 * into the parameters IN PLACE, so a colocated generator sharing the parameter tensors sees the
 * new weights without a sync. Updating bf16 parameters directly loses every update smaller than
 * ~2^-8 of the weight (lr 1e-7 on weights ~1 changes nothing); the masters keep them.
 *
 * `LossScaler` is PyTorch's `GradScaler` arithmetic for float16, whose gradients underflow at
 * loss scale 1: the loss is multiplied by `scale` before backward, gradients divided by it after;
 * an inf/NaN gradient skips the step and halves the scale, `growthInterval` good steps double it.
 */
import { torch, type Tensor, type DType } from "../torch/index.ts";
import { TrainerOptionError } from "./errors.ts";

const LOW_PRECISION: readonly DType[] = ["bfloat16", "float16"];

/** True when any parameter is bf16/fp16 (the trainer then keeps float32 masters). */
export function isLowPrecision(params: readonly Tensor[]): boolean {
  return params.some((p) => LOW_PRECISION.includes(p.dtype));
}

/** float32 master copies of low-precision parameters (float32 parameters are their own master). */
export class MasterWeights {
  /** The model's parameters (compute dtype). */
  readonly params: readonly Tensor[];
  /** What the optimizer updates: a float32 copy per trainable low-precision parameter, else the parameter itself. */
  readonly masters: readonly Tensor[];

  /** `copies: false` keeps no masters (the gradients are still unscaled by `gradsToMasters`). */
  constructor(params: readonly Tensor[], options: { copies?: boolean } = {}) {
    const copies = options.copies ?? true;
    this.params = [...params];
    this.masters = this.params.map((p) => {
      // Frozen parameters (requiresGrad false: a frozen base under adapters) need no master.
      if (!copies || !LOW_PRECISION.includes(p.dtype) || !p.requiresGrad) return p;
      const m = torch.keep(torch.noGrad(() => p.detach().to("float32")));
      // A leaf that takes a gradient: the fused optimizer steps read `.grad` of what they update.
      m.requiresGrad_(true);
      return m;
    });
  }

  /**
   * Moves each parameter's gradient to its master as float32 times `factor` (1/loss scale) and
   * drops the compute-dtype gradient. A parameter without a gradient leaves its master without one.
   */
  gradsToMasters(factor = 1): void {
    torch.noGrad(() => {
      for (let i = 0; i < this.params.length; i++) {
        const p = this.params[i]!;
        const m = this.masters[i]!;
        // One tidy per parameter: its compute-dtype gradient is freed before the next is converted.
        torch.tidy(() => {
          const g = p.grad;
          if (g === null) {
            if (m !== p) m.grad = null;
            return;
          }
          if (m === p && factor === 1) return;
          const g32 = g.dtype === "float32" ? g : g.to("float32");
          m.grad = factor === 1 ? g32 : g32.mul(factor);
          if (m !== p) p.grad = null;
        });
      }
    });
  }

  /** Copies the masters into the parameters in place (rounded to the compute dtype). */
  syncParams(): void {
    torch.noGrad(() => {
      for (let i = 0; i < this.params.length; i++) {
        const m = this.masters[i]!;
        if (m !== this.params[i]) this.params[i]!.copy_(m);
      }
    });
  }

  /** Drops the gradients of parameters and masters. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
    for (const m of this.masters) m.grad = null;
  }

  /** True when at least one parameter has a separate float32 master. */
  get active(): boolean {
    return this.masters.some((m, i) => m !== this.params[i]);
  }

  /** Frees the master copies (not the parameters). */
  dispose(): void {
    this.masters.forEach((m, i) => {
      if (m !== this.params[i]) m.dispose();
    });
  }
}

export interface LossScalerOptions {
  /** Scale of the first step. @default 65536 (2^16, as torch.amp.GradScaler) */
  initScale?: number;
  /** Multiplies the scale after `growthInterval` good steps in a row. @default 2 */
  growthFactor?: number;
  /** Multiplies the scale after an overflowing step. @default 0.5 */
  backoffFactor?: number;
  /** @default 2000 */
  growthInterval?: number;
}

export interface LossScalerState {
  scale: number;
  growthTracker: number;
}

/** Dynamic loss scale (see the file comment). */
export class LossScaler {
  scale: number;
  /** Good steps since the last change of the scale. */
  growthTracker = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;

  constructor(options: LossScalerOptions = {}) {
    const o = { initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, ...options };
    if (!(o.initScale > 0 && Number.isFinite(o.initScale))) throw new TrainerOptionError("lossScaling.initScale", "a finite number > 0", o.initScale);
    if (!(o.growthFactor > 1)) throw new TrainerOptionError("lossScaling.growthFactor", "a number > 1", o.growthFactor);
    if (!(o.backoffFactor > 0 && o.backoffFactor < 1)) throw new TrainerOptionError("lossScaling.backoffFactor", "a number in (0, 1)", o.backoffFactor);
    if (!(Number.isInteger(o.growthInterval) && o.growthInterval >= 1)) throw new TrainerOptionError("lossScaling.growthInterval", "an integer >= 1", o.growthInterval);
    this.scale = o.initScale;
    this.growthFactor = o.growthFactor;
    this.backoffFactor = o.backoffFactor;
    this.growthInterval = o.growthInterval;
  }

  /** After a step: back off on overflow, grow after `growthInterval` good steps. */
  update(overflow: boolean): void {
    if (overflow) {
      this.scale *= this.backoffFactor;
      this.growthTracker = 0;
      return;
    }
    this.growthTracker += 1;
    if (this.growthTracker >= this.growthInterval) {
      this.scale *= this.growthFactor;
      this.growthTracker = 0;
    }
  }

  stateDict(): LossScalerState {
    return { scale: this.scale, growthTracker: this.growthTracker };
  }

  loadStateDict(s: LossScalerState): void {
    if (!(typeof s?.scale === "number" && s.scale > 0)) throw new TrainerOptionError("lossScaler.scale", "a number > 0", s?.scale);
    this.scale = s.scale;
    this.growthTracker = Number.isInteger(s.growthTracker) ? s.growthTracker : 0;
  }
}
