/**
 * Training checkpoints, written atomically:
 *
 *     <dir>/step-<N>/model/                 config.json + model.safetensors (Hugging Face layout; loadPretrained reads it),
 *                                           or, when the trainer trains LoRA adapters, a PEFT adapter directory
 *     <dir>/step-<N>/optimizer.safetensors  saveOptimizerState
 *     <dir>/step-<N>/master-weights.safetensors  float32 masters of bf16/fp16 parameters (mixed precision only)
 *     <dir>/step-<N>/trainer-state.json     step, policyVersion, scheduler, rng, extra
 *     <dir>/latest                          "step-<N>"
 *
 * Everything is written into `<dir>/step-<N>.tmp-<pid>-<rand>/` and renamed to `step-<N>/` in
 * one `rename`; then `latest` is replaced atomically. A crash at any point leaves the previous
 * checkpoint and `latest` intact (a leftover `.tmp-` directory is removed by the next save).
 * One writer per `dir` is assumed.
 *
 * The libtorch RNG state is not reachable from the addon, so `rng` is whatever the caller needs
 * to replay randomness (seeds, sampler states); reseed per step for exact resume.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, openSync, fsyncSync, closeSync } from "node:fs";
import { join, basename, resolve } from "node:path";
import { torch, safetensors, optim, nn, type Tensor } from "../torch/index.ts";
// Direct files, not the index: the index also loads the tokenizer stack.
import { CausalLM } from "../models/llama.ts";
import { savePretrained, loadHfStateDict } from "../models/checkpoint.ts";
import { LoraAdapters } from "../models/lora.ts";
import { saveLoraAdapter, ADAPTER_WEIGHTS_FILE } from "../models/lora-checkpoint.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { CheckpointError, TrainerOptionError } from "./errors.ts";
import type { LossScalerState } from "./mixed-precision.ts";

const STATE_FILE = "trainer-state.json";
const OPTIMIZER_FILE = "optimizer.safetensors";
const MASTERS_FILE = "master-weights.safetensors";
const MODEL_DIR = "model";
const LATEST = "latest";
const FORMAT = "torchforge-trainer-checkpoint";
const STEP_DIR = /^step-(\d+)$/;
const TMP_DIR = /^step-\d+\.tmp-/;

type AnyOptimizer = optim.Optimizer<{ lr: number }>;

export interface SaveCheckpointOptions {
  model: nn.Module;
  optimizer?: AnyOptimizer;
  /** What is saved for `optimizer` instead of its own `stateDict()` (ZeRO-1: the state consolidated from every rank). */
  optimizerState?: optim.OptimizerStateDict<{ lr: number }>;
  scheduler?: optim.LRScheduler;
  /** Optimizer steps taken; names the directory `step-<step>`. */
  step: number;
  /** Version of the policy weights (what generators were last synced to). @default step */
  policyVersion?: number;
  /** JSON-serialisable RNG state of the caller (seeds, sampler states). */
  rng?: unknown;
  /** Any JSON-serialisable state (replay buffer `stateDict()`, data cursor, config). */
  extra?: Record<string, unknown>;
  /** Keep this many newest `step-*` checkpoints; older ones are deleted. `0` keeps all. @default 3 */
  keepLast?: number;
  /** float32 master weights by parameter name (mixed precision): the model directory holds only their bf16/fp16 rounding. */
  masterWeights?: ReadonlyMap<string, Tensor>;
  /** The float16 loss scaler's state. */
  lossScaler?: LossScalerState | null;
}

export interface TrainerStateFile {
  format: typeof FORMAT;
  version: 1;
  step: number;
  policyVersion: number;
  scheduler: { step: number; baseLrs: number[] } | null;
  hasOptimizer: boolean;
  /** Absent in checkpoints written before mixed precision. */
  hasMasterWeights?: boolean;
  lossScaler?: LossScalerState | null;
  rng: unknown;
  extra: Record<string, unknown>;
  savedAt: string;
}

/** Writes a checkpoint atomically; returns the final `<dir>/step-<N>` path. */
export function saveCheckpoint(dir: string, options: SaveCheckpointOptions): string {
  const { model, optimizer, scheduler, step } = options;
  if (!Number.isInteger(step) || step < 0) throw new TrainerOptionError("step", "an integer >= 0", step);
  const keepLast = options.keepLast ?? 3;
  if (!Number.isInteger(keepLast) || keepLast < 0) throw new TrainerOptionError("keepLast", "an integer >= 0 (0 keeps all)", keepLast);
  if (!(model instanceof nn.Module)) throw new TrainerOptionError("model", "an nn.Module", model);
  mkdirSync(dir, { recursive: true });
  removeStaleTemps(dir);
  const name = `step-${step}`;
  const final = join(dir, name);
  const tmp = join(dir, `${name}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  mkdirSync(tmp);
  try {
    saveModel(model, join(tmp, MODEL_DIR));
    if (optimizer) optim.saveOptimizerState(join(tmp, OPTIMIZER_FILE), options.optimizerState ?? optimizer.stateDict());
    const masters = options.masterWeights;
    if (masters && masters.size > 0) {
      const detached = new Map([...masters].map(([k, t]) => [k, t.detach()]));
      try {
        safetensors.saveSafetensors(join(tmp, MASTERS_FILE), detached);
      } finally {
        for (const t of detached.values()) t.dispose();
      }
    }
    // Serialised last: a throwing `extra` getter or toJSON simulates a crash mid-write in tests.
    const state: TrainerStateFile = {
      format: FORMAT,
      version: 1,
      step,
      policyVersion: options.policyVersion ?? step,
      scheduler: scheduler ? scheduler.stateDict() : null,
      hasOptimizer: optimizer !== undefined,
      hasMasterWeights: (options.masterWeights?.size ?? 0) > 0,
      lossScaler: options.lossScaler ?? null,
      rng: options.rng ?? null,
      extra: options.extra ?? {},
      savedAt: new Date().toISOString(),
    };
    writeFileAtomic(join(tmp, STATE_FILE), JSON.stringify(state, null, 2) + "\n");
    fsyncDir(tmp);
    if (existsSync(final)) {
      // Re-saving a step: move the old one aside first so `final` is never half old, half new.
      const old = `${tmp}.old`;
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, final);
    }
    fsyncDir(dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err instanceof CheckpointError || err instanceof TrainerOptionError
      ? err
      : new CheckpointError(final, `writing failed, previous checkpoints are untouched: ${(err as Error)?.message ?? err}`, { cause: err });
  }
  writeFileAtomic(join(dir, LATEST), `${name}\n`);
  if (keepLast > 0) prune(dir, keepLast, name);
  return final;
}

function saveModel(model: nn.Module, dir: string): void {
  if (model instanceof CausalLM) {
    savePretrained(model, dir);
    return;
  }
  if (model instanceof LoraAdapters) {
    saveLoraAdapter(model, dir);
    return;
  }
  mkdirSync(dir, { recursive: true });
  const detached = new Map<string, Tensor>();
  try {
    for (const [k, t] of model.stateDict()) detached.set(k, t.detach());
    safetensors.saveSafetensors(join(dir, "model.safetensors"), detached, { metadata: { format: "pt" } });
  } finally {
    for (const t of detached.values()) t.dispose();
  }
}

/** `step-<N>` directories under `dir`, oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => ({ n, m: STEP_DIR.exec(n) }))
    .filter((x) => x.m && statSync(join(dir, x.n)).isDirectory())
    .map((x) => ({ step: Number(x.m![1]), path: join(dir, x.n) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The checkpoint directory `path` names: a `step-<N>` directory itself, or a run directory whose
 * `latest` file points to one. Throws `CheckpointError` when there is none.
 */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, STATE_FILE))) return path;
  const latest = join(path, LATEST);
  if (!existsSync(latest)) {
    throw new CheckpointError(path, `no checkpoint here: neither ${STATE_FILE} nor a '${LATEST}' pointer (was a checkpoint ever saved to this directory?)`);
  }
  const name = readFileSync(latest, "utf8").trim();
  if (!STEP_DIR.test(name)) throw new CheckpointError(latest, `'${LATEST}' must name a step-<N> directory; it holds ${JSON.stringify(name)}`);
  const target = join(path, name);
  if (!existsSync(join(target, STATE_FILE))) throw new CheckpointError(target, `'${LATEST}' points here but ${STATE_FILE} is missing`);
  return target;
}

/** True when `dir` holds a loadable checkpoint (for `--resume` logic). */
export function hasCheckpoint(dir: string): boolean {
  try {
    resolveCheckpoint(dir);
    return true;
  } catch {
    return false;
  }
}

export interface LoadCheckpointOptions {
  model: nn.Module;
  optimizer?: AnyOptimizer;
  scheduler?: optim.LRScheduler;
  /**
   * float32 masters to fill in place, by parameter name. From the checkpoint's master weights
   * when it has them, else from the loaded (rounded) parameters.
   */
  masterWeights?: ReadonlyMap<string, Tensor>;
}

export interface LoadCheckpointResult {
  /** The `step-<N>` directory that was loaded. */
  path: string;
  step: number;
  policyVersion: number;
  rng: unknown;
  extra: Record<string, unknown>;
  /** The loss scaler's state when one was saved. */
  lossScaler: LossScalerState | null;
}

/**
 * Restores model weights (in place), optimizer state and scheduler from `path` (a run directory
 * → its `latest`, or a `step-<N>` directory). Returns the step, policy version, rng and extra.
 */
export function loadCheckpoint(path: string, options: LoadCheckpointOptions): LoadCheckpointResult {
  const dir = resolveCheckpoint(resolve(path));
  let state: TrainerStateFile;
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8"));
  } catch (err) {
    throw new CheckpointError(dir, `${STATE_FILE} is not valid JSON`, { cause: err });
  }
  if (state.format !== FORMAT) throw new CheckpointError(dir, `${STATE_FILE} has format ${JSON.stringify(state.format)}, expected "${FORMAT}"`);
  loadModel(options.model, join(dir, MODEL_DIR));
  if (options.masterWeights && options.masterWeights.size > 0) loadMasters(options.model, options.masterWeights, state.hasMasterWeights ? join(dir, MASTERS_FILE) : null);
  if (options.optimizer) {
    if (!state.hasOptimizer) throw new CheckpointError(dir, "was saved without optimizer state; load without 'optimizer' or resume from another checkpoint");
    const sd = optim.loadOptimizerState<{ lr: number }>(join(dir, OPTIMIZER_FILE));
    try {
      // tidy: Optimizer.loadStateDict leaks the intermediate `t.to(...)` of each state tensor.
      torch.tidy(() => options.optimizer!.loadStateDict(sd as optim.OptimizerStateDict<never>));
    } finally {
      for (const s of Object.values(sd.state)) for (const t of Object.values(s.tensors)) t.dispose();
    }
  }
  if (options.scheduler) {
    if (!state.scheduler) throw new CheckpointError(dir, "was saved without scheduler state; load without 'scheduler'");
    options.scheduler.loadStateDict(state.scheduler);
  }
  return { path: dir, step: state.step, policyVersion: state.policyVersion, rng: state.rng, extra: state.extra ?? {}, lossScaler: state.lossScaler ?? null };
}

function loadModel(model: nn.Module, dir: string): void {
  let weights: Map<string, Tensor>;
  try {
    weights = model instanceof LoraAdapters ? safetensors.loadSafetensors(join(dir, ADAPTER_WEIGHTS_FILE)) : safetensors.loadCheckpoint(dir);
  } catch (err) {
    throw new CheckpointError(dir, `cannot read model weights: ${(err as Error).message}`, { cause: err });
  }
  try {
    torch.tidy(() => {
      if (model instanceof CausalLM) loadHfStateDict(model, weights, { source: dir });
      else model.loadStateDict(weights);
    });
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

function loadMasters(model: nn.Module, targets: ReadonlyMap<string, Tensor>, file: string | null): void {
  const params = new Map(model.namedParameters());
  const saved = file ? safetensors.loadSafetensors(file) : new Map<string, Tensor>();
  try {
    torch.noGrad(() => {
      for (const [name, master] of targets) {
        // A checkpoint without masters (fp32, or older): start them from the loaded parameters.
        const src = saved.get(name) ?? params.get(name);
        if (!src) throw new CheckpointError(file ?? "(model)", `no master weight or parameter named '${name}'`);
        if (src.shape.join(",") !== master.shape.join(",")) {
          throw new CheckpointError(file ?? "(model)", `master weight '${name}' has shape [${src.shape}], parameter has [${master.shape}]`);
        }
        master.copy_(src);
      }
    });
  } finally {
    for (const t of saved.values()) t.dispose();
  }
}

function removeStaleTemps(dir: string): void {
  for (const n of readdirSync(dir)) if (TMP_DIR.test(n)) rmSync(join(dir, n), { recursive: true, force: true });
}

function prune(dir: string, keepLast: number, current: string): void {
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - keepLast))) {
    if (basename(c.path) !== current) rmSync(c.path, { recursive: true, force: true });
  }
}

function fsyncDir(dir: string): void {
  // Makes the rename durable; some platforms cannot open directories, which is fine to skip.
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}
