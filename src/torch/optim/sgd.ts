/** Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay. */
import { Optimizer, OptimizerError, checkNonNegative, type ParamGroup } from "./optimizer.ts";
import type { Tensor } from "../tensor.ts";
import { zerosLike } from "../creation.ts";
import { native } from "../native.ts";

export interface SGDOptions {
  lr: number;
  /** @default 0 */
  momentum: number;
  /** @default 0 */
  dampening: number;
  /** @default 0 */
  weightDecay: number;
  /** @default false */
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroup<SGDOptions>[], options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected validate(h: SGDOptions, g: number): void {
    checkNonNegative(h.lr, "lr", g);
    checkNonNegative(h.momentum, "momentum", g);
    checkNonNegative(h.dampening, "dampening", g);
    checkNonNegative(h.weightDecay, "weightDecay", g);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new OptimizerError(`param group ${g}: 'nesterov' needs momentum > 0 and dampening 0`);
    }
  }

  step(): void {
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov } = group.hyper;
      const active = group.params.filter((p) => native.hasGrad(p._h));
      if (active.length === 0) continue;
      if (momentum === 0) {
        native.sgdStep(active.map((p) => p._h), [], lr, 0, dampening, weightDecay, false, false);
        continue;
      }
      // The first step copies the gradient into the buffer (PyTorch), later steps blend.
      const fresh = active.filter((p) => !this.state.has(p));
      const seasoned = active.filter((p) => this.state.has(p));
      for (const [ps, first] of [[fresh, true], [seasoned, false]] as const) {
        if (ps.length === 0) continue;
        const bufs = ps.map((p) => {
          const s = this.stateFor(p, () => ({ momentumBuffer: zerosLike(p) }));
          s.step += 1;
          return s.tensors.momentumBuffer!._h;
        });
        native.sgdStep(ps.map((p) => p._h), bufs, lr, momentum, dampening, weightDecay, nesterov, first);
      }
    }
  }
}
