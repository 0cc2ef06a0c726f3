/**
 * The optimizer a trainer builds from plain options (`TrainerOptions.optimizer`): AdamW by
 * default, or Adam / SGD with `torch.optim` semantics. Hyperparameters that the chosen optimizer
 * does not have are an error, not ignored (betas for SGD, momentum for Adam).
 */
import { optim, type Tensor } from "../torch/index.ts";
import { TrainerOptionError } from "./errors.ts";

export type OptimizerName = "AdamW" | "Adam" | "SGD";

export interface OptimizerOptions {
  /** Which `torch.optim` update rule. @default "AdamW" */
  name?: OptimizerName;
  /** @default 1e-5 */
  lr?: number;
  /** AdamW / Adam only. @default [0.9, 0.999] */
  betas?: [number, number];
  /** AdamW / Adam only. @default 1e-8 */
  eps?: number;
  /** AdamW: decoupled from the gradient; Adam and SGD: an L2 term added to it. @default 0.01 for AdamW, 0 otherwise */
  weightDecay?: number;
  /** SGD only. @default 0 */
  momentum?: number;
  /** SGD only (needs momentum > 0). @default false */
  nesterov?: boolean;
}

const NAMES: readonly OptimizerName[] = ["AdamW", "Adam", "SGD"];
const KEYS: Record<OptimizerName, readonly string[]> = {
  AdamW: ["lr", "betas", "eps", "weightDecay", "name"],
  Adam: ["lr", "betas", "eps", "weightDecay", "name"],
  SGD: ["lr", "weightDecay", "momentum", "nesterov", "name"],
};

/** Throws a TrainerOptionError naming the first bad field of `opt` (plain options, not an Optimizer). */
export function checkOptimizerOptions(opt: unknown): asserts opt is OptimizerOptions {
  if (typeof opt !== "object" || opt === null || Array.isArray(opt)) {
    throw new TrainerOptionError("optimizer", "options { name, lr, betas, eps, weightDecay, momentum } or an Optimizer", opt);
  }
  const o = opt as Record<string, unknown>;
  const name = (o.name ?? "AdamW") as OptimizerName;
  if (!NAMES.includes(name)) throw new TrainerOptionError("optimizer.name", `one of ${NAMES.join(", ")}`, o.name);
  for (const k of Object.keys(o)) {
    if (KEYS[name].includes(k) || o[k] === undefined) continue; // an undefined key is an absent one
    const owner = NAMES.filter((n) => KEYS[n].includes(k));
    const why = owner.length > 0 ? `not a ${name} option (it is ${owner.join("/")}'s)` : "unknown key";
    throw new TrainerOptionError(`optimizer.${k}`, `one of ${KEYS[name].join(", ")} (${why})`, o[k]);
  }
  for (const k of ["lr", "eps", "weightDecay", "momentum"] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw new TrainerOptionError(`optimizer.${k}`, "a finite number >= 0", v);
  }
  if (o.nesterov !== undefined && typeof o.nesterov !== "boolean") throw new TrainerOptionError("optimizer.nesterov", "a boolean", o.nesterov);
  const momentum = (o.momentum as number | undefined) ?? 0;
  if (o.nesterov === true && momentum === 0) {
    throw new TrainerOptionError("optimizer.nesterov", "false unless optimizer.momentum > 0", o.nesterov);
  }
}

/** The optimizer `opt` names over `params`, with the trainer's default learning rate (1e-5). */
export function buildOptimizer(params: Tensor[], opt: OptimizerOptions = {}): optim.Optimizer<{ lr: number }> {
  const { name = "AdamW", lr = 1e-5, ...given } = opt;
  // Undefined keys are absent ones: the optimizer's own defaults apply.
  const rest = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Omit<OptimizerOptions, "name" | "lr">;
  switch (name) {
    case "AdamW":
      return new optim.AdamW(params, { lr, ...rest });
    case "Adam":
      return new optim.Adam(params, { lr, ...rest });
    case "SGD":
      return new optim.SGD(params, { lr, ...rest });
  }
}
