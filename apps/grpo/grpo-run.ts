/**
 * The GRPO app's loop, torchforge's shape, in named parts:
 *   setup            — config checks, models, data, rewards, loss, trainer, replay buffer, metrics;
 *   services         — the policy generator, colocated or separate (`generator-placement.ts`);
 *   task             — single-turn prompts or multi-turn agent episodes (`prompt-task.ts`,
 *                      `agent-task.ts`): how one rollout is collected and how eval is scored;
 *   continuousRollouts — feeds the replay buffer (`rollout-driver.ts`: between steps when colocated,
 *                      in background loops while the trainer steps when separate);
 *   continuousTraining — batch → train step → weight sync → metrics → eval → checkpoint.
 * One abort path: the caller's signal (Ctrl-C) stops training at a step boundary, writes a
 * checkpoint and stops the rollout loops. Simplifications, on purpose:
 *  1. in colocated placement rollout and training alternate instead of overlapping: on a CPU both
 *     need every core, and the generator reads the very tensors the optimizer writes;
 *  2. `sync_interval` is 1 in colocated mode (shared tensors cannot lag behind);
 *  3. the reference model is a frozen copy of the starting weights, in the controller process unless
 *     `services.ref_model` asks for a service (`reference-model.ts`).
 *
 * Data-parallel GRPO (`services.trainer.procs: N`, colocated placement; main.ts relaunches the app
 * as N ranks) is SPMD: every rank holds the policy, its own colocated generator and replay buffer.
 * Each step, every rank generates its share of the step's global prompts (a global sampler sliced
 * by `rankShare`, each prompt seeded by its global index: N ranks generate exactly the episodes
 * one process would), groups stay whole on one rank (advantages are per group), and all ranks take
 * one synchronized train step (the DP Trainer: global token counts, summed gradients), so the
 * weights stay bitwise identical. `training.batch_size` stays per rank. Rank 0 alone owns the
 * output directory: lock, logs (other ranks' metrics merged in: global figures), eval (the others
 * wait without a timeout), checkpoints (holding every rank's replay buffer) and the final model.
 * Ranks stop together at a step boundary by vote, so Ctrl-C checkpoints once.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { torch } from "../../src/torch/index.ts";
import type { NatsCluster } from "../../src/actors/index.ts";
import { ReplayBuffer, collate, type Episode } from "../../src/rl/index.ts";
import { ExampleSampler } from "../../src/data/index.ts";
import { Trainer, trainStepMetrics, hasCheckpoint } from "../../src/trainer/index.ts";
import { MetricLogger, createRunBackends, recordMetric, type MetricValue } from "../../src/observability/index.ts";
import { saveConfig, type GrpoConfig } from "../../src/config/index.ts";
import { resolveModel } from "../shared/resolve-model.ts";
import { trainerOptionsFromConfig } from "../shared/trainer-options.ts";
import { inRunDirectory } from "../shared/run-directory.ts";
import { resolveDataset } from "../shared/resolve-dataset.ts";
import { resolveRewards } from "../shared/resolve-rewards.ts";
import { resolveLoss } from "../shared/resolve-loss.ts";
import type { EvalResult } from "../shared/evaluate.ts";
import { weightsChecksum } from "./generator-actor.ts";
import { startGenerator, type PolicyGenerator } from "./generator-placement.ts";
import { BackgroundRollouts, InlineRollouts, untilAborted, type RolloutDriver } from "./rollout-driver.ts";
import { promptTask, type GrpoTask } from "./prompt-task.ts";
import { agentTask } from "./agent-task.ts";
import { attachLora, exportLora } from "../shared/lora.ts";
import { joinDataParallel, RankShareSampler, type DataParallelRank } from "../shared/data-parallel.ts";
import { RankCoordinator, weightsDigest } from "../shared/rank-coordination.ts";
import { LockstepRollouts } from "./rollout-driver.ts";
import { GrpoConfigError } from "./errors.ts";
import { joinCluster } from "./cluster.ts";
import { loadReference, localReference, refModelPlacement, startReferenceService, type ReferenceScorer } from "./reference-model.ts";

export { GrpoConfigError } from "./errors.ts";

export interface GrpoRunOptions {
  config: GrpoConfig;
  /** The resolved config as written in YAML (saved with the run). */
  rawConfig: unknown;
  /**
   * Continue from the run's latest checkpoint: `true` requires one (an error names the folder when
   * there is none), `"auto"` resumes when there is one and starts fresh otherwise. @default false
   */
  resume?: boolean | "auto";
  /** Stop cleanly (checkpoint first) when aborted, e.g. on Ctrl-C. */
  signal?: AbortSignal;
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
  /** Console progress bar. @default true */
  progress?: boolean;
}

export interface GrpoRunResult {
  steps: number;
  policyVersion: number;
  evals: { step: number; result: EvalResult }[];
  outputDir: string;
  dashboardPath?: string;
  checkpointDir: string;
  stoppedEarly: boolean;
  /** LoRA runs: the final adapter in PEFT format (and `<output_dir>/model` merged with `lora.save_merged`). */
  adapterDir?: string;
  /** Data-parallel runs: this rank, the ranks, and a SHA-256 of its final weights (equal on every rank). */
  dataParallel?: { rank: number; worldSize: number; weightsSha256: string };
  /**
   * Separate placement: each generator replica's weight version, |w| checksum, pid and host at the
   * end, the trainer's checksum, and the weight store the replicas read.
   */
  generatorState?: {
    versions: number[];
    checksums: number[];
    pids: number[];
    hosts: string[];
    trainerChecksum: number;
    store: "shared-memory" | "tcp" | "c10d";
  };
}

/** Where the run's models go: the policy and reference model (`trainer`), and the generator's. */
interface Placement {
  trainer: string;
  generator: string;
}

/**
 * Checks that need the running machine (the schema has checked the rest before anything started),
 * and the devices that follow from `with_gpus`. Every GPU service uses GPU 0: colocated, the
 * generator reads the trainer's very tensors; separate, a small model's replicas share one GPU
 * (spreading services over several GPUs is not done yet).
 */
function checkPlacement(config: GrpoConfig): Placement {
  const gpus = Object.values(config.services).filter((s) => s && typeof s === "object" && (s as { withGpus?: boolean }).withGpus).length;
  if (gpus === 0) return { trainer: "cpu", generator: "cpu" };
  const free = torch.cuda.deviceCount();
  if (free === 0) {
    throw new GrpoConfigError(`Insufficient GPU resources: asked for ${gpus}, ${free} free (set with_gpus: false to run on CPU)`);
  }
  const gpu = "cuda:0";
  const trainerOnGpu = config.services.trainer.withGpus || config.services.refModel?.withGpus === true;
  if (config.placement === "colocated") return { trainer: gpu, generator: gpu };
  return { trainer: trainerOnGpu ? gpu : "cpu", generator: config.services.generator.withGpus ? gpu : "cpu" };
}

/** Runs GRPO holding the output directory's lock (one run per `output_dir`). */
export async function runGrpo(options: GrpoRunOptions): Promise<GrpoRunResult> {
  const { config } = options;
  const log = options.log ?? ((l: string) => console.log(l));
  const where = { outputDir: config.outputDir, checkpointDir: config.checkpoint.folder, resume: options.resume, log };
  const dp = joinDataParallel();
  try {
    // Only the main rank owns the output directory; the other ranks write nothing there.
    if (dp && !dp.isMain) return await runGrpoLocked(options, dp);
    return await inRunDirectory({ ...where, error: (m) => new GrpoConfigError(m) }, () => runGrpoLocked(options, dp));
  } finally {
    dp?.group.destroy();
  }
}

async function runGrpoLocked(options: GrpoRunOptions, dp: DataParallelRank | null = null): Promise<GrpoRunResult> {
  const { config } = options;
  const isMain = dp?.isMain ?? true;
  const rank = dp?.rank ?? 0;
  const worldSize = dp?.worldSize ?? 1;
  const log = isMain ? (options.log ?? ((l: string) => console.log(l))) : () => {};
  const coord = dp ? new RankCoordinator(dp.group, { prefix: "grpo" }) : null;

  // ---- setup -------------------------------------------------------------------------------
  const devices = checkPlacement(config);
  const outputDir = resolve(config.outputDir);
  const checkpointDir = resolve(config.checkpoint.folder);
  if (isMain) mkdirSync(outputDir, { recursive: true });
  torch.manualSeed(config.training.seed);

  const modelSpec = {
    ...config.model,
    dtype: config.lora?.baseDtype ?? config.training.dtype ?? config.model.dtype,
    device: devices.trainer,
  };
  const { model: policy, tokenizer, source } = resolveModel(modelSpec);
  if (devices.trainer !== "cpu" || devices.generator !== "cpu") log(`devices: trainer ${devices.trainer}, generator ${devices.generator}`);
  const lora = attachLora(policy, config.lora, log);
  // In the controller it loads here, as it always has; as a service it starts with the others.
  const refPlacement = refModelPlacement(config);
  let refModel: ReferenceScorer | null = refPlacement === "controller" ? localReference(loadReference(modelSpec)) : null;
  const data = await resolveDataset(config.dataset);
  const loss = await resolveLoss({ ...config.grpo, entropyCoef: config.training.entropyCoef });
  const n = config.grpo.nSamples;
  const promptsPerRollout = Math.max(1, Math.ceil(config.training.batchSize / n));
  const maxBatchSize = Math.min(128, promptsPerRollout * n);
  const env = config.environment;
  const maxSeqLen = Math.min(policy.maxPositions, env ? config.training.seqLen : config.grpo.maxPromptTokens + config.grpo.maxNewTokens);
  const trainer = new Trainer({
    model: policy,
    trainable: lora ?? undefined,
    loss,
    ...trainerOptionsFromConfig(config, log),
    temperature: config.grpo.temperature,
    entropy: true,
    ...(dp ? { processGroup: dp.group, shardOptimizerState: config.parallelism.zeroStage === 1 } : {}),
  });
  const buffer = new ReplayBuffer<Episode>({
    batchSize: config.training.batchSize,
    maxPolicyAge: config.grpo.maxPolicyAge,
    maxBufferSize: config.replayBuffer.capacity,
    seed: config.training.seed,
  });
  // The global prompt order (every rank draws it; a data-parallel rank keeps its share).
  const sampler = new ExampleSampler({ examples: data.train, seed: config.dataset.seed });
  const evalExamples = data.eval.slice(0, config.eval.numPrompts);
  // Loaded before the logs open: a resumed run drops the records of steps after its checkpoint.
  let policyVersion = 0;
  let resumeStep: number | undefined;
  if (options.resume && hasCheckpoint(checkpointDir)) {
    const state = trainer.load(checkpointDir);
    policyVersion = state.policyVersion;
    resumeStep = state.step;
    const extra = state.extra as {
      replayBuffer?: Parameters<typeof buffer.loadStateDict>[0];
      /** Data-parallel runs: every rank's buffer, in rank order. */
      replayBuffers?: Parameters<typeof buffer.loadStateDict>[0][];
      sampler?: Parameters<typeof sampler.loadStateDict>[0];
    };
    const buffers = extra.replayBuffers ?? (extra.replayBuffer ? [extra.replayBuffer] : []);
    if (buffers.length === worldSize) buffer.loadStateDict(buffers[rank]!);
    else if (buffers.length > 0)
      log(`resume: the checkpoint holds ${buffers.length} ranks' replay buffers, this run has ${worldSize}: buffers start empty`);
    if (extra.sampler) sampler.loadStateDict(extra.sampler);
    log(`resumed from ${state.path} at step ${state.step} (policy version ${policyVersion})`);
  }
  const runBackends = isMain
    ? createRunBackends({
        dir: outputDir,
        totalSteps: config.training.steps,
        resumeStep,
        console: options.progress === false ? false : {}, // reward, accuracy, KL, grad norm, lr, phase split
        title: "torchforge GRPO",
      })
    : { backends: [], samplesPath: "", dashboardPath: undefined, trimmed: { metrics: 0, tensorboard: 0 } };
  const { metrics: droppedRows, tensorboard: droppedEvents } = runBackends.trimmed;
  if (droppedRows + droppedEvents > 0) {
    const what = `${droppedRows} metrics rows and ${droppedEvents} TensorBoard events`;
    log(`resume: dropped ${what} of steps after ${resumeStep} (they are logged again)`);
  }
  const logger = new MetricLogger({ backends: runBackends.backends });
  // Data-parallel: the other ranks hand their metrics to rank 0, whose flush logs global figures.
  const flush = async (step: number) => {
    await coord?.shareMetrics();
    if (isMain) await logger.flush(step);
  };

  // ---- services ----------------------------------------------------------------------------
  // Started last: everything that can reject the config has run, so no process is left behind.
  let cluster: NatsCluster | undefined;
  let started: PolicyGenerator | undefined;
  let genClosed: Promise<void> | undefined;
  const closeGen = () => (genClosed ??= started?.close() ?? Promise.resolve());
  let task: GrpoTask | undefined;
  let rollouts: RolloutDriver | undefined;
  try {
    cluster = await joinCluster(config, log);
    const gen = (started = await startGenerator(config, {
      modelSpec: { ...modelSpec, device: devices.generator },
      maxBatchSize,
      maxSeqLen,
      policy,
      tokenizer,
      log,
      lora,
      cluster,
    }));
    if (refPlacement === "service") refModel = await startReferenceService(config, { modelSpec, cluster, log });
    if (refModel && refPlacement === "service") log(`reference model: ${refModel.where}`);
    const common = {
      config,
      generator: gen,
      tokenizer,
      refModel,
      sampler: dp ? new RankShareSampler(sampler, promptsPerRollout, rank, worldSize) : sampler,
      promptsPerRollout,
      rank,
      evalExamples,
      maxSeqLen,
      log,
      samplesPath: runBackends.samplesPath,
    };
    task = env
      ? await agentTask({ ...common, environment: env })
      : promptTask({ ...common, rewards: await resolveRewards(config.rewards) });

    await gen.sync(policyVersion);
    // Written once the run has started: a launch that fails keeps the previous run's config.
    if (isMain) saveConfig(join(outputDir, "config.yaml"), options.rawConfig);
    log(
      `GRPO: model ${source} (${policy.numParameters().toLocaleString()} parameters), ` +
        `${data.train.length} train / ${evalExamples.length} eval ${env ? "tasks" : "prompts"}, ${task.description}, ` +
        `loss ${config.grpo.loss}, n=${n}, batch ${config.training.batchSize}` +
        (dp ? ` per rank × ${worldSize} data-parallel ranks` : "") +
        (trainer.optimizerStateOwners ? ", optimizer state sharded (ZeRO-1)" : ""),
    );

    const evals: GrpoRunResult["evals"] = [];
    // Rank 0 evaluates; the other ranks wait for it at the step's end (`waitForMain`).
    const runEval = async (step: number) => {
      if (!evalExamples.length || !isMain) return;
      const t0 = performance.now();
      const result = await task!.evaluate(step);
      evals.push({ step, result });
      recordMetric("main_perf/eval_s", (performance.now() - t0) / 1000);
    };
    // Colocated rollouts are deterministic; a step cut short by Ctrl-C has already drawn prompts and
    // buffered episodes, so its checkpoint keeps the data state of the step's start instead (then
    // --resume replays the step exactly as an uninterrupted run does).
    let stepData:
      { step: number; replayBuffer: ReturnType<typeof buffer.stateDict>; sampler: ReturnType<typeof sampler.stateDict> } | undefined;
    const dataState = () => {
      const undone = stepData?.step === trainer.step ? stepData : undefined;
      return { replayBuffer: undone?.replayBuffer ?? buffer.stateDict(), sampler: undone?.sampler ?? sampler.stateDict() };
    };
    // Every rank calls it (the others hand their replay buffers to rank 0, which writes).
    const save = async () => {
      const data = dataState();
      const replayBuffers = coord ? await coord.gatherOnMain("replay-buffer", data.replayBuffer) : undefined;
      // ZeRO-1: every rank hands its optimizer state to rank 0 (a no-op unsharded).
      trainer.consolidateOptimizerState();
      if (!isMain) return;
      trainer.save(checkpointDir, {
        policyVersion,
        rng: { seed: config.training.seed, step: trainer.step },
        extra: replayBuffers ? { ...data, replayBuffers } : data,
        keepLast: config.checkpoint.keepLast ?? undefined,
      });
    };

    // ---- continuousRollouts ------------------------------------------------------------------
    // Overlapped rollouts race the trainer (which version made an episode, which prompts each loop
    // drew, what was in flight at a checkpoint depend on timing), so only lockstep runs reproduce.
    const overlap = gen.concurrent && config.grpo.overlapRollouts;
    rollouts = coord
      ? new LockstepRollouts(buffer, task.collect, (ready) => coord.allReady(ready))
      : overlap
        ? new BackgroundRollouts(buffer, task.collect, {
            workers: config.grpo.rolloutWorkers,
            maxBuffered: 2 * config.training.batchSize,
            progressTimeoutMs: config.grpo.progressTimeoutS * 1000,
            maxPolicyAge: config.grpo.maxPolicyAge,
            describe: gen.describe,
          })
        : new InlineRollouts(buffer, task.collect, { interruptible: gen.concurrent });

    // ---- continuousTraining ------------------------------------------------------------------
    const evalEvery = config.eval.evalEveryNSteps;
    if (trainer.step === 0 && evalEvery) {
      await runEval(0);
      await flush(0); // the starting point is its own row (step 0) in metrics and the dashboard
      await coord?.waitForMain("step");
    }
    // Data-parallel ranks never abandon a step half-way (the others would wait in its collectives).
    const stepSignal = coord ? undefined : options.signal;
    const stoppedEarly = await continuousTraining({
      steps: config.training.steps,
      signal: options.signal,
      // Data-parallel ranks stop together at a step boundary: any rank's signal stops them all.
      shouldStop: coord ? () => coord.agreeToStop(options.signal?.aborted ?? false) : undefined,
      step: async () => {
        if (!gen.concurrent) stepData = { step: trainer.step, replayBuffer: buffer.stateDict(), sampler: sampler.stateDict() };
        const stepStart = performance.now();
        const batches = await rollouts!.nextBatch(policyVersion, trainer.step, stepSignal);
        const micro = splitEvenly(batches[0]!, config.training.gradientAccumulationSteps);
        const batch = collate(micro, { padId: tokenizer.padTokenId });
        let result;
        try {
          result = trainer.trainStep(batch);
        } finally {
          torch.dispose(batch);
        }
        policyVersion += 1;
        if (!overlap || trainer.step % config.training.syncInterval === 0) {
          const t0 = performance.now();
          // Ctrl-C need not wait for a replica being restarted: the checkpoint does not need the sync.
          await untilAborted(gen.sync(policyVersion), stepSignal);
          recordMetric("main_perf/weight_sync_s", (performance.now() - t0) / 1000, "sum");
        }
        for (const [k, v] of Object.entries(trainStepMetrics(result))) recordMetric(k, v);
        for (const [k, v] of Object.entries(buffer.metrics())) if (typeof v === "number") recordMetric(`buffer/${k}`, v);
        recordMetric("main_perf/step_s", (performance.now() - stepStart) / 1000);
        const step = trainer.step;
        if (evalEvery && step % evalEvery === 0) await runEval(step);
        await flush(step);
        if (config.checkpoint.enable && step % config.checkpoint.interval === 0) await save();
        await coord?.waitForMain("step"); // a long eval or checkpoint on rank 0 times no collective out
      },
      currentStep: () => trainer.step,
    });
    if (stoppedEarly && gen.concurrent) {
      // Stopping (Ctrl-C, SIGTERM): checkpoint first, then stop the generator, which cuts the
      // in-flight rollouts short (their loops end on the closed service) instead of waiting for them.
      if (config.checkpoint.enable) await save();
      await Promise.all([rollouts.stop(), gen.close()]);
    } else {
      await rollouts.stop(); // a failed or stopped step must not leave rollout loops running
      if (config.checkpoint.enable) await save();
    }
    if (evalEvery && trainer.step % evalEvery !== 0 && !stoppedEarly) {
      await runEval(trainer.step);
      await flush(trainer.step);
    }
    await logger.close?.();
    const adapterDir =
      lora && config.lora && isMain
        ? exportLora(lora, config.lora, { outputDir, baseModel: source, tokenizer, log }).adapterDir
        : undefined;
    await coord?.finish(); // every rank waits for rank 0's last writes before the group goes away
    const generatorState =
      gen.state && !stoppedEarly
        ? { ...(await gen.state()), trainerChecksum: weightsChecksum(lora ?? policy), store: gen.storeKind! }
        : undefined;
    return {
      steps: trainer.step,
      policyVersion,
      evals,
      outputDir,
      dashboardPath: runBackends.dashboardPath,
      checkpointDir,
      stoppedEarly,
      ...(adapterDir ? { adapterDir } : {}),
      generatorState,
      ...(dp ? { dataParallel: { rank, worldSize, weightsSha256: weightsDigest(lora ?? policy) } } : {}),
    };
  } catch (err) {
    // Close the generator first: rollout loops blocked on a dead or stuck replica then end at once.
    await closeGen();
    throw err;
  } finally {
    await rollouts?.stop();
    await task?.close?.();
    await closeGen();
    await refModel?.close();
    await cluster?.close();
    trainer.dispose();
    lora?.dispose();
    policy.dispose();
    coord?.dispose();
  }
}

/**
 * Runs `step` until `steps` are done or the signal aborts (checked at step boundaries, and inside
 * a step while it waits for rollouts). Returns whether it stopped early.
 */
async function continuousTraining(o: {
  steps: number;
  signal?: AbortSignal;
  /** Whether to stop before the next step. @default the signal has aborted */
  shouldStop?: () => boolean;
  step: () => Promise<void>;
  currentStep: () => number;
}): Promise<boolean> {
  while (o.currentStep() < o.steps) {
    if (o.shouldStop ? o.shouldStop() : o.signal?.aborted) return true;
    try {
      await o.step();
    } catch (err) {
      if (o.signal?.aborted && (err as Error)?.name === "AbortError") return true;
      throw err;
    }
  }
  return false;
}

function splitEvenly<T>(xs: T[], parts: number): T[][] {
  const k = Math.min(parts, xs.length);
  const out: T[][] = Array.from({ length: k }, () => []);
  xs.forEach((x, i) => out[i % k]!.push(x));
  return out;
}

export type { MetricValue };
