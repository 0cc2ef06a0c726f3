/**
 * The seed's launch spelling: `--trainer.procs 4 --generator.procs 4` (torchforge's command
 * lines) names placement keys at the top level. Here placement lives in `services.<role>` (GRPO)
 * or `processes` (SFT's trainer), so those keys move there before validation. Only placement
 * keys move: the seed's `trainer:` section keeps its own keys (model, training, ...).
 */
import { ConfigOverrideError } from "./errors.ts";
import { isPlainObject, type ConfigObject } from "./paths.ts";

const PLACEMENT_KEYS = ["procs", "num_replicas", "with_gpus", "hosts"] as const;

function moveKeys(data: ConfigObject, from: string, to: string[]): ConfigObject {
  const section = data[from];
  if (!isPlainObject(section)) return data;
  const moving = PLACEMENT_KEYS.filter((k) => k in section);
  if (moving.length === 0) return data;
  const out: ConfigObject = { ...data };
  const rest: ConfigObject = { ...section };
  // Walk/create the destination (services.trainer, or processes).
  let parent = out;
  for (const key of to) {
    const next = parent[key];
    parent[key] = isPlainObject(next) ? { ...next } : {};
    parent = parent[key] as ConfigObject;
  }
  for (const k of moving) {
    if (k in parent && JSON.stringify(parent[k]) !== JSON.stringify(rest[k])) {
      throw new ConfigOverrideError({
        override: `${from}.${k}`,
        reason: `conflicts with ${[...to, k].join(".")} (${JSON.stringify(parent[k])}); set one of them`,
      });
    }
    parent[k] = rest[k];
    delete rest[k];
  }
  if (Object.keys(rest).length === 0) delete out[from];
  else out[from] = rest;
  return out;
}

/** GRPO: `trainer.*`, `generator.*`, `ref_model.*` placement keys → `services.<role>.*`. */
export function grpoServiceShorthands(data: ConfigObject): ConfigObject {
  let out = data;
  for (const role of ["trainer", "generator", "ref_model"]) out = moveKeys(out, role, ["services", role]);
  return out;
}

/** SFT: `trainer.*` placement keys → `processes.*` (SFT's trainer placement). */
export function sftServiceShorthands(data: ConfigObject): ConfigObject {
  return moveKeys(data, "trainer", ["processes"]);
}
