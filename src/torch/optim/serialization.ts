/**
 * Optimizer state on disk: state tensors in one safetensors file (`state.<param>.<name>`), step
 * counts and param-group hyperparameters as JSON in its metadata. Written atomically.
 */
import type { Tensor } from "../tensor.ts";
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from "../safetensors.ts";
import { SafetensorsError } from "../errors.ts";
import type { OptimizerStateDict } from "./optimizer.ts";

const META_KEY = "torchforge_optimizer";

export function saveOptimizerState<H>(path: string, state: OptimizerStateDict<H>): void {
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  for (const [index, s] of Object.entries(state.state)) {
    steps[index] = s.step;
    for (const [name, t] of Object.entries(s.tensors)) tensors.set(`state.${index}.${name}`, t);
  }
  saveSafetensors(path, tensors, { metadata: { [META_KEY]: JSON.stringify({ steps, paramGroups: state.paramGroups }) } });
}

/** Reads a state dict written by `saveOptimizerState`; pass it to `optimizer.loadStateDict`. */
export function loadOptimizerState<H>(path: string): OptimizerStateDict<H> {
  const meta = readSafetensorsHeader(path).metadata[META_KEY];
  if (!meta) throw new SafetensorsError(path, `not an optimizer state file (no '${META_KEY}' metadata)`);
  const { steps, paramGroups } = JSON.parse(meta) as { steps: Record<string, number>; paramGroups: OptimizerStateDict<H>["paramGroups"] };
  const state: OptimizerStateDict<H>["state"] = {};
  for (const [index, step] of Object.entries(steps)) state[Number(index)] = { step, tensors: {} };
  for (const [key, t] of loadSafetensors(path)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    const entry = m ? state[Number(m[1])] : undefined;
    if (!m || !entry) throw new SafetensorsError(path, `unexpected tensor '${key}' in optimizer state`);
    entry.tensors[m[2]!] = t;
  }
  return { state, paramGroups };
}
