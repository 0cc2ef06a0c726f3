/**
 * The train step: an injected loss over micro-batches with gradients accumulated under GLOBAL
 * token normalisation (each micro-batch loss is normalised by the whole step's counts, so the
 * accumulated gradient equals the full batch's), gradient clipping, AdamW + LR schedule, and
 * NaN/inf protection (skip the step; abort after `maxBadSteps` in a row).
 *
 * Mixed precision (see mixed-precision.ts): when the model's parameters are bf16/fp16 and the
 * trainer builds the optimizer, forward/backward run in that dtype while AdamW updates float32
 * master weights with float32 state, which are then copied into the parameters in place; float16
 * adds dynamic loss scaling.
 *
 * Data parallelism (data-parallel.ts): with a `processGroup`, each rank runs this step on its
 * share of the batch; the token and sequence counts are summed across ranks first (so every
 * rank's loss is normalised by the GLOBAL counts), then the loss and the gradients are summed,
 * which makes a step over N ranks equal to one rank's step over the concatenated batch. Rank 0's
 * initial weights are broadcast at construction. By default the gradient buckets are all-reduced
 * during the last micro-batch's backward (`GradReducer`, DDP's overlap; earlier micro-batches
 * accumulate locally); `overlapGradReduce: false` reduces them after backward instead. Collectives
 * block (they are the step's critical path, as in PyTorch); a rank that dies fails the others'
 * next collective with a DistributedError.
 *
 * ZeRO-1 (`shardOptimizerState`, optimizer-sharding.ts): each rank keeps optimizer state only for
 * its partition of the parameters, steps only those after the full all-reduce and clipping, and
 * broadcasts them to the others. Checkpoints keep the unsharded format: `consolidateOptimizerState()`
 * on every rank gathers the state on rank 0 before its `save()`; `load()` keeps this rank's share.
 *
 * Deliberately not here: data loading, metrics recording (the caller passes
 * `trainStepMetrics(result)` to `recordMetric`).
 */
import { torch, optim, nn, GradReducer, type GradReduceReport, type Tensor, type distributed } from "../torch/index.ts";
import type { Loss, TrainingBatch } from "../rl/index.ts";
import { CheckpointError, NonFiniteLossError, TrainerOptionError } from "./errors.ts";
import { countPolicyTokens, maskCounts, policyLossFn, policyMicroBatches, type PolicyMicroBatch } from "./policy-loss-fn.ts";
import { countSftTokens, type SftMicroBatch } from "./sft-loss-fn.ts";
import { combineMicroBatchMetrics, type TrainStepResult } from "./step-metrics.ts";
import type { ForwardModel, LossFn } from "./types.ts";
import { loadCheckpoint, saveCheckpoint, type LoadCheckpointResult, type SaveCheckpointOptions } from "./checkpoint.ts";
import { LossScaler, MasterWeights, isLowPrecision, type LossScalerOptions } from "./mixed-precision.ts";
import { GradientAllReducer, allReduceNumbers, broadcastTensors } from "./data-parallel.ts";
import { buildOptimizer, checkOptimizerOptions, type OptimizerOptions } from "./optimizer-options.ts";
import { OptimizerStateSharding } from "./optimizer-sharding.ts";

type AnyOptimizer = optim.Optimizer<{ lr: number }>;


export interface TrainerOptions<B, M extends ForwardModel> {
  model: M;
  /**
   * The module whose parameters are trained, clipped and checkpointed when it is not `model`
   * itself: LoRA adapters (`applyLora(model, ...)`) over a frozen model, whose forward still is
   * `model`'s. Parameters with `requiresGrad` false are never optimized. @default model
   */
  trainable?: nn.Module;
  /** A policy loss from src/rl (micro-batches are then `collate` output) or any `LossFn`. */
  loss: Loss | LossFn<B, M>;
  /** Options of the optimizer to build (AdamW, Adam or SGD), or a ready optimizer over the model's parameters. @default AdamW({ lr: 1e-5 }) */
  optimizer?: OptimizerOptions | AnyOptimizer;
  /** Warmup and decay of the learning rate, stepped once per optimizer step. @default constant */
  schedule?: optim.WarmupScheduleOptions;
  /** Clip the gradient norm to this; `null` only measures it. @default 1.0 */
  maxNorm?: number | null;
  /** Abort with `NonFiniteLossError` after this many skipped (NaN/inf) steps in a row. @default 5 */
  maxBadSteps?: number;
  /** Policy losses only: the generator's sampling temperature. @default 1 */
  temperature?: number;
  /** Policy losses only: give the loss response logits for the entropy metric/bonus. @default true */
  entropy?: boolean;
  /** Trained tokens and sequences of a micro-batch. @default from `targets.paddingMask` (policy), `inputIds`+`lossMask` (SFT), else a `lossMask`/`paddingMask` field */
  countTokens?: (batch: B) => { tokens: number; sequences: number };
  /** Where skip warnings go. @default console.warn */
  warn?: (message: string) => void;
  /**
   * float32 master weights and optimizer state for bf16/fp16 parameters (only when the trainer
   * builds the optimizer; a given optimizer updates exactly the tensors it was given). @default true
   */
  masterWeights?: boolean;
  /** Dynamic loss scaling: `true`/options to enable, `false` to disable. @default on when a parameter is float16 */
  lossScaling?: boolean | LossScalerOptions;
  /**
   * Recompute each decoder block in backward instead of storing its activations (sets the
   * model's `activationCheckpointing`; the model must support it, as `CausalLM` does).
   * @default the model's own setting
   */
  activationCheckpointing?: boolean;
  /** Data-parallel training over this c10d group (see data-parallel.ts). @default one process */
  processGroup?: distributed.ProcessGroup;
  /** Gradient all-reduce bucket size in bytes. @default 25 MiB (PyTorch DDP's) */
  bucketBytes?: number;
  /**
   * All-reduce gradient buckets while backward runs (true) or after it (false, the simpler path
   * kept for comparison). Only with a `processGroup` of more than one rank. @default true
   */
  overlapGradReduce?: boolean;
  /**
   * ZeRO stage 1: shard the optimizer state over the `processGroup`'s ranks (whole tensors,
   * balanced by size); each rank steps its own parameters and broadcasts them. Needs a
   * `processGroup` (with one rank it changes nothing). Checkpointing becomes collective: call
   * `consolidateOptimizerState()` on every rank before `save()` on rank 0. @default false
   */
  shardOptimizerState?: boolean;
}

export class Trainer<B = PolicyMicroBatch, M extends ForwardModel = ForwardModel> {
  readonly model: M;
  /** What the optimizer trains and checkpoints save: `options.trainable`, else the model. */
  readonly trainable: nn.Module;
  readonly optimizer: AnyOptimizer;
  readonly scheduler: optim.LRScheduler;
  readonly maxNorm: number | null;
  readonly maxBadSteps: number;
  readonly #lossFn: LossFn<B, M>;
  readonly #countTokens: (batch: B) => { tokens: number; sequences: number };
  readonly #warn: (message: string) => void;
  readonly #ownsOptimizer: boolean;
  readonly #params: Tensor[];
  readonly #mixed: MasterWeights;
  readonly #scaler: LossScaler | null;
  readonly #group: distributed.ProcessGroup | null;
  readonly #gradReducer: GradientAllReducer | null;
  readonly #overlap: GradReducer | null;
  readonly #sharding: OptimizerStateSharding | null;
  /** The full optimizer state gathered on rank 0 for the next save, and the step it is of. */
  #consolidated: { step: number; state: optim.OptimizerStateDict<{ lr: number }> } | null = null;
  #reduceReport: GradReduceReport | null = null;
  #step = 0;
  #badSteps = 0;

  constructor(options: TrainerOptions<B, M>) {
    const o = validateOptions(options);
    this.model = o.model;
    this.trainable = o.trainable ?? o.model;
    this.maxNorm = o.maxNorm === undefined ? 1.0 : o.maxNorm;
    this.maxBadSteps = o.maxBadSteps ?? 5;
    this.#warn = o.warn ?? ((m) => console.warn(m));
    this.#lossFn = isLoss(o.loss)
      ? (policyLossFn(o.loss, { temperature: o.temperature, entropy: o.entropy }) as unknown as LossFn<B, M>)
      : o.loss;
    this.#countTokens = o.countTokens ?? defaultCountTokens;
    if (o.activationCheckpointing !== undefined) {
      if (typeof o.model.activationCheckpointing !== "boolean" || typeof o.model.finishBackward !== "function") {
        throw new TrainerOptionError("activationCheckpointing", "used with a model that supports it (CausalLM)", o.activationCheckpointing);
      }
      o.model.activationCheckpointing = o.activationCheckpointing;
    }
    this.#group = o.processGroup ?? null;
    // Identical starting weights on every rank, before any master copy is taken of them.
    if (this.#group) {
      const adapters = this.trainable === o.model ? [] : this.trainable.parameters();
      broadcastTensors(this.#group, [...o.model.parameters(), ...adapters]);
    }
    if (o.optimizer instanceof optim.Optimizer) {
      this.optimizer = o.optimizer;
      this.#ownsOptimizer = false;
      const given = o.optimizer.paramGroups.flatMap((g) => g.params);
      this.#mixed = new MasterWeights(given, { copies: false });
      if (isLowPrecision(given)) {
        this.#warn("trainer: the given optimizer updates bf16/fp16 parameters in place (updates below ~1/256 of a weight are lost); pass AdamW options instead of an Optimizer to train float32 master weights");
      }
    } else {
      // Frozen parameters (a base model under LoRA adapters) get no optimizer state.
      const params = this.trainable.parameters().filter((p) => p.requiresGrad);
      if (params.length === 0) throw new TrainerOptionError(o.trainable ? "trainable" : "model", "a module with trainable parameters", "a module with none (or all frozen)");
      this.#mixed = new MasterWeights(params, { copies: o.masterWeights ?? true });
      this.optimizer = buildOptimizer([...this.#mixed.masters], o.optimizer);
      this.#ownsOptimizer = true;
    }
    // What clipping and the optimizer see: the float32 masters when there are any.
    this.#params = [...this.#mixed.masters];
    const dp = this.#group !== null && this.#group.worldSize > 1;
    if (dp && (o.overlapGradReduce ?? true)) {
      // Hooks go on the parameters backward accumulates into; the sums land on their masters.
      const names = new Map([...this.trainable.namedParameters()].map(([k, p]) => [p, k]));
      const idx = this.#mixed.params.map((_, i) => i).filter((i) => this.#mixed.params[i]!.requiresGrad);
      const params = idx.map((i) => this.#mixed.params[i]!);
      this.#overlap = new GradReducer(this.#group!, params, {
        targets: idx.map((i) => this.#mixed.masters[i]!),
        names: params.map((p, i) => names.get(p) ?? `parameter ${i}`),
        ...(o.bucketBytes !== undefined ? { bucketBytes: o.bucketBytes } : {}),
      });
      // Backward calls outside trainStep (a caller's own) are not reduced.
      this.#overlap.requireSync = false;
      this.#gradReducer = null;
    } else {
      this.#overlap = null;
      this.#gradReducer = dp ? new GradientAllReducer(this.#group!, this.#params, { bucketBytes: o.bucketBytes }) : null;
    }
    // One rank has nothing to shard.
    this.#sharding = dp && o.shardOptimizerState ? new OptimizerStateSharding(this.#group!, this.optimizer) : null;
    const fp16 = this.#mixed.params.some((p) => p.dtype === "float16");
    const ls = o.lossScaling ?? fp16;
    this.#scaler = ls === false ? null : new LossScaler(ls === true ? {} : ls);
    this.scheduler = new optim.LRScheduler(this.optimizer, o.schedule ?? {});
  }

  /** This process's rank in the data-parallel group (0 without one). */
  get rank(): number {
    return this.#group?.rank ?? 0;
  }
  /** Ranks training together (1 without a group). */
  get worldSize(): number {
    return this.#group?.worldSize ?? 1;
  }
  /**
   * ZeRO-1: the rank that keeps the optimizer state of each optimizer parameter (in state-dict
   * order: its param groups concatenated); `null` when the state is not sharded.
   */
  get optimizerStateOwners(): readonly number[] | null {
    return this.#sharding?.owners ?? null;
  }
  /** The rank that writes checkpoints and logs (the others hold the same weights). */
  get isMainRank(): boolean {
    return this.rank === 0;
  }

  /**
   * The last step's overlapped gradient reduction: buckets started during backward, parameters
   * without a gradient on this rank or on any (null without one).
   */
  get gradReduceReport(): GradReduceReport | null {
    return this.#reduceReport;
  }

  /** Optimizer steps taken (skipped steps do not count). */
  get step(): number {
    return this.#step;
  }
  /** Skipped steps in a row so far. */
  get badSteps(): number {
    return this.#badSteps;
  }

  /**
   * One optimizer step over `batch`'s micro-batches: forward + backward each inside `torch.tidy`
   * (gradients accumulate), clip, step, schedule. A NaN/inf loss or gradient norm skips the step
   * (gradients dropped, no update, a warning); `maxBadSteps` in a row throw `NonFiniteLossError`.
   */
  trainStep(batch: readonly B[] | TrainingBatch): TrainStepResult {
    const microBatches = (isTrainingBatch(batch) ? policyMicroBatches(batch) : batch) as readonly B[];
    if (!Array.isArray(microBatches) || microBatches.length === 0) {
      throw new TrainerOptionError("batch", "a non-empty list of micro-batches (or collate output)", microBatches);
    }
    const start = performance.now();
    const lr = this.optimizer.lr;
    let tokens = 0;
    let sequences = 0;
    for (const mb of microBatches) {
      const c = this.#countTokens(mb);
      tokens += c.tokens;
      sequences += c.sequences;
    }
    const dp = this.#group !== null && this.#group.worldSize > 1 ? this.#group : null;
    if (dp) [tokens, sequences] = allReduceNumbers(dp, [tokens, sequences]) as [number, number];
    this.#zeroGrad();
    const scale = this.#scaler?.scale ?? 1;
    let loss = 0;
    const metrics: Record<string, unknown>[] = [];
    let reason: string | undefined;
    // A model on a GPU gets its micro-batches there (collate builds them on the CPU).
    const device = this.model.parameters()[0]?.device ?? "cpu";
    try {
      for (const [i, mb] of microBatches.entries()) {
        // Earlier micro-batches accumulate locally; the last one's backward starts the all-reduces.
        if (this.#overlap) this.#overlap.requireSync = i === microBatches.length - 1;
        const r = torch.tidy(() => {
          const batch = device === "cpu" ? mb : torch.toDevice(mb, device);
          const out = this.#lossFn({ model: this.model, batch, globalTokenCount: tokens, globalSequenceCount: sequences });
          const value = out.loss.item();
          // Skip backward on a bad loss: its gradient would only poison the accumulation.
          if (Number.isFinite(value)) (scale === 1 ? out.loss : out.loss.mul(scale)).backward();
          // A checkpointed model back-propagates through its recomputed blocks here (else it drops what it held).
          this.model.finishBackward?.();
          return { value, metrics: { ...(out.metrics ?? {}) } as Record<string, unknown> };
        });
        loss += r.value;
        metrics.push(r.metrics);
        if (!Number.isFinite(r.value)) {
          reason = `loss is ${r.value} in micro-batch ${i}`;
          break;
        }
      }
    } catch (err) {
      if (this.#overlap) {
        this.#overlap.reset();
        this.#overlap.requireSync = false;
      }
      this.#zeroGrad();
      throw err;
    }
    if (this.#overlap) {
      // First, on every rank (even one that skipped backward on a bad loss): other ranks' buckets
      // may already be in flight, and Gloo pairs collectives by their order.
      this.#overlap.requireSync = false;
      this.#reduceReport = this.#overlap.finish({ scale: 1 / scale });
    }
    if (dp) {
      // Every rank learns of a bad loss anywhere (NaN/inf survive the sum), so all skip together.
      const [globalLoss] = allReduceNumbers(dp, [loss]);
      if (reason === undefined && !Number.isFinite(globalLoss)) reason = `loss is ${globalLoss} on another rank`;
      loss = globalLoss!;
    }
    let gradNorm = NaN;
    let overflow = false;
    if (reason === undefined) {
      // float32 gradients on the masters, divided by the loss scale, before clipping (the
      // overlapped reducer already put them there).
      if (!this.#overlap && (this.#mixed.active || scale !== 1)) this.#mixed.gradsToMasters(1 / scale);
      this.#gradReducer?.allReduce();
      gradNorm = optim.clipGradNorm(this.#params, this.maxNorm ?? Infinity);
      if (!Number.isFinite(gradNorm)) {
        reason = `gradient norm is ${gradNorm}`;
        if (this.#scaler) {
          // An overflow at a high loss scale is expected in float16: it only lowers the scale.
          overflow = this.#scaler.scale >= 1;
          this.#scaler.update(true);
          reason += ` at loss scale ${scale}; scale lowered to ${this.#scaler.scale}`;
        }
      }
    }
    const lossMetrics = combineMicroBatchMetrics(metrics);
    if (reason !== undefined) {
      this.#zeroGrad();
      if (overflow) {
        this.#warn(`trainer: skipping step ${this.#step + 1} (${reason})`);
      } else {
        this.#badSteps += 1;
        this.#warn(`trainer: skipping step ${this.#step + 1} (${reason}); ${this.#badSteps}/${this.maxBadSteps} bad steps in a row`);
        if (this.#badSteps >= this.maxBadSteps) throw new NonFiniteLossError(this.#badSteps, this.#step + 1, reason);
      }
    } else {
      this.#disposeConsolidated();
      // ZeRO-1: the norm above covered every gradient; now only this rank's parameters step.
      this.#sharding?.dropForeignGrads();
      this.optimizer.step();
      this.#sharding?.broadcastParams();
      // Round the updated masters into the compute-dtype parameters, in place (shared with a colocated generator).
      if (this.#mixed.active) this.#mixed.syncParams();
      this.#scaler?.update(false);
      this.scheduler.step();
      this.#zeroGrad();
      this.#badSteps = 0;
      this.#step += 1;
    }
    const timeS = (performance.now() - start) / 1000;
    return {
      step: this.#step,
      skipped: reason !== undefined,
      ...(reason !== undefined ? { skipReason: reason } : {}),
      loss,
      gradNorm,
      lr,
      tokens,
      sequences,
      microBatches: microBatches.length,
      timeS,
      tokensPerS: timeS > 0 ? tokens / timeS : 0,
      lossMetrics,
      ...(this.#scaler ? { lossScale: scale } : {}),
    };
  }

  /** The loss scale of the next step (`null` without loss scaling). */
  get lossScale(): number | null {
    return this.#scaler?.scale ?? null;
  }

  /** True when the optimizer updates float32 master copies of bf16/fp16 parameters. */
  get hasMasterWeights(): boolean {
    return this.#mixed.active;
  }

  /** The float32 master of each low-precision parameter, by parameter name (empty without masters). */
  masterWeights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (!this.#mixed.active) return out;
    const index = new Map(this.#mixed.params.map((p, i) => [p, i]));
    for (const [name, p] of this.trainable.namedParameters()) {
      const i = index.get(p);
      if (i !== undefined && this.#mixed.masters[i] !== p) out.set(name, this.#mixed.masters[i]!);
    }
    return out;
  }

  #zeroGrad(): void {
    this.optimizer.zeroGrad();
    this.#mixed.zeroGrad();
  }

  /**
   * ZeRO-1: gathers every rank's optimizer state on rank 0 for its next `save()` (PyTorch's
   * `consolidate_state_dict`). Collective: every rank calls it, after the step to be saved. Does
   * nothing when the state is not sharded, so callers may always call it on every rank.
   */
  consolidateOptimizerState(): void {
    if (!this.#sharding) return;
    this.#disposeConsolidated();
    const state = this.#sharding.consolidate(0);
    if (state) this.#consolidated = { step: this.#step, state };
  }

  /**
   * Saves model, optimizer, scheduler and this trainer's step under `dir/step-<step>/`. With a
   * sharded optimizer state only rank 0 saves, after `consolidateOptimizerState()` on every rank;
   * the checkpoint is the same as an unsharded run's.
   */
  save(dir: string, options: Omit<SaveCheckpointOptions, "model" | "optimizer" | "optimizerState" | "scheduler" | "step" | "masterWeights" | "lossScaler"> = {}): string {
    if (this.#sharding && this.#consolidated?.step !== this.#step) {
      throw new CheckpointError(
        dir,
        `the optimizer state is sharded over ${this.worldSize} ranks (shardOptimizerState): call consolidateOptimizerState() on every rank after step ${this.#step}, then save() on rank 0` +
          (this.rank === 0 ? "" : ` (this is rank ${this.rank})`),
      );
    }
    try {
      return saveCheckpoint(dir, {
        ...options,
        model: this.trainable,
        optimizer: this.optimizer,
        ...(this.#consolidated ? { optimizerState: this.#consolidated.state } : {}),
        scheduler: this.scheduler,
        step: this.#step,
        masterWeights: this.masterWeights(),
        lossScaler: this.#scaler?.stateDict() ?? null,
      });
    } finally {
      // Rank 0 holds the whole state only while it writes.
      this.#disposeConsolidated();
    }
  }

  #disposeConsolidated(): void {
    if (this.#consolidated) torch.dispose(this.#consolidated.state.state);
    this.#consolidated = null;
  }

  /** Restores a checkpoint (a run directory's `latest`, or one `step-N` directory) into this trainer. */
  load(path: string): LoadCheckpointResult {
    const r = loadCheckpoint(path, { model: this.trainable, optimizer: this.optimizer, scheduler: this.scheduler, masterWeights: this.masterWeights() });
    // ZeRO-1: every rank read the whole state; it keeps its own partition's.
    this.#sharding?.dropForeignState();
    this.#disposeConsolidated();
    if (this.#scaler && r.lossScaler) this.#scaler.loadStateDict(r.lossScaler);
    this.#step = r.step;
    this.#badSteps = 0;
    return r;
  }

  /** Frees the optimizer state when the trainer built the optimizer (the model is the caller's). */
  dispose(): void {
    this.#overlap?.dispose();
    this.#disposeConsolidated();
    if (this.#ownsOptimizer) {
      this.optimizer.dispose();
      this.#mixed.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function isLoss(x: unknown): x is Loss {
  return typeof x === "object" && x !== null && typeof (x as Loss).forward === "function";
}

function isTrainingBatch(x: unknown): x is TrainingBatch {
  return typeof x === "object" && x !== null && !Array.isArray(x) && Array.isArray((x as TrainingBatch).inputs) && Array.isArray((x as TrainingBatch).targets);
}

function defaultCountTokens(batch: unknown): { tokens: number; sequences: number } {
  const b = batch as Record<string, unknown> & { targets?: { paddingMask?: unknown } };
  if (isTensor(b?.targets?.paddingMask)) return countPolicyTokens(b as unknown as PolicyMicroBatch);
  if (isTensor(b?.inputIds) && isTensor(b?.lossMask)) return countSftTokens(b as unknown as SftMicroBatch);
  for (const field of ["lossMask", "paddingMask"]) if (isTensor(b?.[field])) return maskCounts(b[field] as Tensor);
  throw new TrainerOptionError(
    "countTokens",
    "given when micro-batches have no `targets.paddingMask`, `inputIds` + `lossMask`, `lossMask` or `paddingMask` tensor",
    undefined,
  );
}

const isTensor = (x: unknown): x is Tensor => typeof x === "object" && x !== null && "shape" in x && "_h" in x;

function validateOptions<B, M extends ForwardModel>(o: TrainerOptions<B, M>): TrainerOptions<B, M> {
  if (typeof o !== "object" || o === null) throw new TrainerOptionError("options", "an object", o);
  if (typeof o.model !== "object" || o.model === null || typeof o.model.parameters !== "function" || typeof o.model.forward !== "function") {
    throw new TrainerOptionError("model", "an nn.Module with forward(tokens) → logits", o.model);
  }
  if (o.trainable !== undefined && !(o.trainable instanceof nn.Module)) throw new TrainerOptionError("trainable", "an nn.Module (e.g. LoRA adapters)", o.trainable);
  if (!isLoss(o.loss) && typeof o.loss !== "function") {
    throw new TrainerOptionError("loss", "a Loss ({ forward(input) → { loss, metrics } }) or a function ({ model, batch, ... }) → { loss, metrics }", o.loss);
  }
  if (o.maxNorm !== undefined && o.maxNorm !== null && !(typeof o.maxNorm === "number" && o.maxNorm > 0)) {
    throw new TrainerOptionError("maxNorm", "a number > 0 (or null to only measure the norm)", o.maxNorm);
  }
  if (o.maxBadSteps !== undefined && !(Number.isInteger(o.maxBadSteps) && o.maxBadSteps >= 1)) {
    throw new TrainerOptionError("maxBadSteps", "an integer >= 1", o.maxBadSteps);
  }
  if (o.temperature !== undefined && !(typeof o.temperature === "number" && o.temperature > 0)) {
    throw new TrainerOptionError("temperature", "a number > 0", o.temperature);
  }
  if (o.activationCheckpointing !== undefined && typeof o.activationCheckpointing !== "boolean") {
    throw new TrainerOptionError("activationCheckpointing", "a boolean", o.activationCheckpointing);
  }
  if (o.countTokens !== undefined && typeof o.countTokens !== "function") throw new TrainerOptionError("countTokens", "a function", o.countTokens);
  if (o.overlapGradReduce !== undefined && typeof o.overlapGradReduce !== "boolean") throw new TrainerOptionError("overlapGradReduce", "a boolean", o.overlapGradReduce);
  if (o.shardOptimizerState !== undefined && typeof o.shardOptimizerState !== "boolean") throw new TrainerOptionError("shardOptimizerState", "a boolean", o.shardOptimizerState);
  if (o.shardOptimizerState && o.processGroup === undefined) {
    throw new TrainerOptionError("shardOptimizerState", "used with a processGroup (it shards the optimizer state over data-parallel ranks)", o.shardOptimizerState);
  }
  const opt = o.optimizer;
  if (opt !== undefined && !(opt instanceof optim.Optimizer)) checkOptimizerOptions(opt);
  if (o.schedule !== undefined) {
    if (typeof o.schedule !== "object" || o.schedule === null) throw new TrainerOptionError("schedule", "an object { warmupSteps, totalSteps, decay, minLrRatio }", o.schedule);
    const known = ["warmupSteps", "totalSteps", "decay", "minLrRatio"];
    for (const k of Object.keys(o.schedule)) {
      if (!known.includes(k)) throw new TrainerOptionError(`schedule.${k}`, `one of ${known.join(", ")} (unknown key)`, (o.schedule as Record<string, unknown>)[k]);
    }
  }
  return o;
}
