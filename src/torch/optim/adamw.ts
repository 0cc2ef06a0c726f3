/** AdamW (decoupled weight decay, Loshchilov & Hutter), PyTorch's arithmetic in one native call. */
import { Optimizer, OptimizerError, checkNonNegative, type ParamGroup } from "./optimizer.ts";
import type { Tensor } from "../tensor.ts";
import { zerosLike } from "../creation.ts";
import { native } from "../native.ts";

export interface AdamWOptions {
  /** @default 1e-3 */
  lr: number;
  /** @default [0.9, 0.999] */
  betas: [number, number];
  /** @default 1e-8 */
  eps: number;
  /** @default 0.01 */
  weightDecay: number;
}

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Tensor[] | ParamGroup<AdamWOptions>[], options: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...options });
  }

  protected validate(h: AdamWOptions, g: number): void {
    checkNonNegative(h.lr, "lr", g);
    checkNonNegative(h.eps, "eps", g);
    checkNonNegative(h.weightDecay, "weightDecay", g);
    if (!Array.isArray(h.betas) || h.betas.length !== 2 || h.betas.some((b) => !(b >= 0 && b < 1))) {
      throw new OptimizerError(`param group ${g}: 'betas' must be two numbers in [0, 1); got ${JSON.stringify(h.betas)}`);
    }
  }

  /** The decay applied to the weights apart from the gradient (all of it for AdamW; none for Adam's L2). */
  protected decoupledWeightDecay(hyper: AdamWOptions): number {
    return hyper.weightDecay;
  }

  step(): void {
    for (const group of this.paramGroups) {
      // Parameters without a gradient are skipped and keep their step count, as in PyTorch.
      const active = group.params.filter((p) => native.hasGrad(p._h));
      if (active.length === 0) continue;
      const byStep = new Map<number, Tensor[]>();
      for (const p of active) {
        const s = this.stateFor(p, () => ({ expAvg: zerosLike(p), expAvgSq: zerosLike(p) }));
        s.step += 1;
        byStep.set(s.step, [...(byStep.get(s.step) ?? []), p]);
      }
      const { lr, betas, eps } = group.hyper;
      const weightDecay = this.decoupledWeightDecay(group.hyper);
      for (const [step, ps] of byStep) {
        const st = ps.map((p) => this.state.get(p)!.tensors);
        native.adamwStep(
          ps.map((p) => p._h), st.map((s) => s.expAvg!._h), st.map((s) => s.expAvgSq!._h),
          step, lr, betas[0], betas[1], eps, weightDecay,
        );
      }
    }
  }
}
