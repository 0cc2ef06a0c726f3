/**
 * Optimizer base: parameter groups with per-group hyperparameters, per-parameter state, and a
 * PyTorch-shaped state dict (`state` by parameter index, `paramGroups` with hyperparameters).
 */
import type { Tensor } from "../tensor.ts";
import { keep, tidy } from "../scope.ts";
import { native } from "../native.ts";

export interface ParamGroup<H> {
  params: Tensor[];
  /** Hyperparameters that override the optimizer's defaults for this group. */
  options?: Partial<H>;
}

export interface ResolvedGroup<H> {
  params: Tensor[];
  hyper: H;
}

/** Per-parameter state: a step counter and named tensors (moments, momentum buffers). */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

export interface OptimizerStateDict<H> {
  /** State by parameter index (the order of `paramGroups[i].params` concatenated). */
  state: Record<number, { step: number; tensors: Record<string, Tensor> }>;
  paramGroups: { hyper: H; params: number[] }[];
}

export class OptimizerError extends Error {
  override name = "OptimizerError";
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ResolvedGroup<H>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | ParamGroup<H>[], defaults: H) {
    if (!Array.isArray(params) || params.length === 0) {
      throw new OptimizerError("optimizer got an empty parameter list");
    }
    const groups: ParamGroup<H>[] = isGroupList(params) ? params : [{ params }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, i) => {
      if (!Array.isArray(g.params) || g.params.length === 0) throw new OptimizerError(`paramGroups[${i}].params is empty`);
      for (const p of g.params) {
        if (seen.has(p)) throw new OptimizerError(`a parameter appears in more than one group (group ${i})`);
        seen.add(p);
      }
      const hyper = { ...defaults, ...(g.options ?? {}) } as H;
      this.validate(hyper, i);
      return { params: [...g.params], hyper };
    });
  }

  /** Checks a group's hyperparameters; throws an OptimizerError naming the bad one. */
  protected abstract validate(hyper: H, groupIndex: number): void;
  /** Applies one update to the parameters that have gradients. */
  abstract step(): void;

  /** Learning rate of the first group (what schedulers set on every group). */
  get lr(): number {
    return this.paramGroups[0]!.hyper.lr;
  }

  /** Drops every gradient (PyTorch's default `set_to_none=True`). */
  zeroGrad(): void {
    for (const g of this.paramGroups) native.zeroGrad(g.params.map((p) => p._h));
  }

  protected stateFor(p: Tensor, init: () => Record<string, Tensor>): ParamState {
    let s = this.state.get(p);
    if (!s) {
      const tensors = init();
      for (const t of Object.values(tensors)) keep(t);
      s = { step: 0, tensors };
      this.state.set(p, s);
    }
    return s;
  }

  /** State tensors are the optimizer's own (not copies): save them before the next step. */
  stateDict(): OptimizerStateDict<H> {
    const state: OptimizerStateDict<H>["state"] = {};
    let index = 0;
    const paramGroups = this.paramGroups.map((g) => ({
      hyper: { ...g.hyper },
      params: g.params.map((p) => {
        const s = this.state.get(p);
        if (s) state[index] = { step: s.step, tensors: { ...s.tensors } };
        return index++;
      }),
    }));
    return { state, paramGroups };
  }

  /** Restores hyperparameters and copies state tensors into fresh buffers. */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new OptimizerError(`state dict has ${sd.paramGroups.length} param groups, optimizer has ${this.paramGroups.length}`);
    }
    const flat: Tensor[] = [];
    sd.paramGroups.forEach((g, i) => {
      const own = this.paramGroups[i]!;
      if (g.params.length !== own.params.length) {
        throw new OptimizerError(`param group ${i}: state dict has ${g.params.length} params, optimizer has ${own.params.length}`);
      }
      // Another optimizer's state (SGD's into AdamW, say) has other hyperparameters: refuse it by name.
      const saved = Object.keys(g.hyper ?? {}).sort().join(", ");
      const mine = Object.keys(own.hyper).sort().join(", ");
      if (saved !== mine) {
        throw new OptimizerError(`param group ${i}: the state dict was saved by another optimizer (hyperparameters ${saved}; this ${this.constructor.name} has ${mine})`);
      }
      this.validate(g.hyper, i);
      own.hyper = { ...g.hyper };
      flat.push(...own.params);
    });
    this.disposeState();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = flat[Number(key)];
      if (!p) throw new OptimizerError(`state dict refers to parameter ${key}, optimizer has ${flat.length}`);
      const tensors: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(s.tensors)) {
        if (t.shape.join(",") !== p.shape.join(",")) {
          throw new OptimizerError(`state '${name}' of parameter ${key} has shape [${t.shape}], parameter has [${p.shape}]`);
        }
        tensors[name] = keep(tidy(() => t.to({ dtype: p.dtype, device: p.device }).clone()));
      }
      this.state.set(p, { step: s.step, tensors });
    }
  }

  /** Frees the state of `params` (a ZeRO-1 rank keeps only its partition's); they start afresh if stepped again. */
  dropState(params: Iterable<Tensor>): void {
    for (const p of params) {
      const s = this.state.get(p);
      if (!s) continue;
      for (const t of Object.values(s.tensors)) t.dispose();
      this.state.delete(p);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }

  /** Frees the optimizer state (parameters belong to their module). */
  dispose(): void {
    this.disposeState();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function isGroupList<H>(params: Tensor[] | ParamGroup<H>[]): params is ParamGroup<H>[] {
  const first = params[0] as unknown;
  return typeof first === "object" && first !== null && "params" in first;
}

export function checkNonNegative(value: number, name: string, group: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new OptimizerError(`param group ${group}: '${name}' must be a finite number >= 0; got ${value}`);
  }
}
