/**
 * Adam (Kingma & Ba) with PyTorch's `torch.optim.Adam` weight decay: an L2 term `weightDecay · θ`
 * joins the gradient, and so the moments — unlike AdamW, which shrinks the weights apart from them.
 */
import { noGrad } from "../autograd.ts";
import { native } from "../native.ts";
import { keep, tidy } from "../scope.ts";
import type { Tensor } from "../tensor.ts";
import { AdamW, type AdamWOptions } from "./adamw.ts";
import type { ParamGroup } from "./optimizer.ts";

export type AdamOptions = AdamWOptions;

export class Adam extends AdamW {
  /** PyTorch's Adam defaults: no weight decay. */
  constructor(params: Tensor[] | ParamGroup<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 0, ...options });
  }

  protected override decoupledWeightDecay(): number {
    return 0;
  }

  override step(): void {
    // The update reads `g + wd·θ`; the caller's gradients come back afterwards (PyTorch leaves
    // `p.grad` untouched too, so clipping metrics or a second look at the gradient see the real one).
    const swapped: { param: Tensor; grad: Tensor }[] = [];
    try {
      noGrad(() => {
        for (const group of this.paramGroups) {
          const wd = group.hyper.weightDecay;
          if (wd === 0) continue;
          for (const param of group.params) {
            if (!native.hasGrad(param._h)) continue;
            const grad = keep(param.grad!);
            swapped.push({ param, grad });
            tidy(() => {
              param.grad = grad.add(param.detach().mul(wd));
            });
          }
        }
      });
      super.step();
    } finally {
      for (const { param, grad } of swapped) {
        param.grad = grad;
        grad.dispose();
      }
    }
  }
}
