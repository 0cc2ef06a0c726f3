/**
 * The GRPO app's loop, torchforge's shape. `placement: colocated` (the fast path on one small
 * machine): generator and trainer share the same parameter tensors in one process, so a train
 * step is a weight sync and the generator only bumps its version. `placement: separate`: the
 * generator is a service of `services.generator.num_replicas` child processes; every
 * `sync_interval` steps the trainer publishes its weights to the shared-memory store and the
 * replicas load that version (the control message is the version number).
 * Each step: rollouts until the replay buffer can fill a batch (dynamic sampling drops
 * zero-variance groups) → a train step with the configured loss → weight sync → metrics →
 * periodic eval and checkpoints. Simplifications, on purpose:
 *  1. rollout and training alternate instead of overlapping: on a CPU both need every core;
 *  2. `sync_interval` is 1 in colocated mode (shared tensors cannot lag behind);
 *  3. the reference model is a frozen copy of the starting weights in the controller process.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { torch } from "../../src/torch/index.ts";
import type { CausalLM } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { ReplayBuffer, collate, type Episode } from "../../src/rl/index.ts";
import { ExampleSampler, type PromptExample } from "../../src/data/index.ts";
import { Trainer, trainStepMetrics, hasCheckpoint } from "../../src/trainer/index.ts";
import { MetricLogger, recordMetric, type MetricValue } from "../../src/observability/index.ts";
import { createRunBackends } from "../../src/observability/index.ts";
import { saveConfig, type GrpoConfig } from "../../src/config/index.ts";
import { resolveModel } from "../shared/resolve-model.ts";
import { SharedMemoryStore, VersionedStore } from "../../src/store/index.ts";
import { GeneratorActor, weightsChecksum } from "./generator-actor.ts";
import { resolveDataset } from "../shared/resolve-dataset.ts";
import { resolveRewards } from "../shared/resolve-rewards.ts";
import { resolveLoss } from "../shared/resolve-loss.ts";
import { encodePrompt } from "../shared/prompts.ts";
import { evaluate, type EvalResult, type Generator } from "../shared/evaluate.ts";
import { rollout } from "./rollout.ts";

export class GrpoConfigError extends Error {
  override name = "GrpoConfigError";
}

export interface GrpoRunOptions {
  config: GrpoConfig;
  /** The resolved config as written in YAML (saved with the run). */
  rawConfig: unknown;
  /** Continue from the run's latest checkpoint. @default false */
  resume?: boolean;
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
  /** Separate placement: each generator replica's weight version and |w| checksum at the end, and the trainer's checksum. */
  generatorState?: { versions: number[]; checksums: number[]; pids: number[]; trainerChecksum: number };
}

function checkPlacement(config: GrpoConfig): void {
  const gpus = Object.values(config.services).filter((s) => s && typeof s === "object" && (s as { withGpus?: boolean }).withGpus).length;
  if (gpus > torch.cuda.deviceCount()) {
    throw new GrpoConfigError(`Insufficient GPU resources: asked for ${gpus}, ${torch.cuda.deviceCount()} free (set with_gpus: false to run on CPU)`);
  }
  if (gpus > 0) {
    // The tensor engine runs on CUDA, but this app still places every model on the CPU: say so
    // rather than silently ignoring the request.
    throw new GrpoConfigError("services.*.with_gpus: true is not supported by the GRPO app yet (models run on the CPU); set with_gpus: false");
  }
  const { warmupSteps, decayType } = config.lrScheduler;
  if (decayType !== "constant" && config.training.steps <= warmupSteps) {
    throw new GrpoConfigError(`lr_scheduler.decay_type '${decayType}' needs training.steps (${config.training.steps}) > lr_scheduler.warmup_steps (${warmupSteps})`);
  }
  if (config.grpo.beta > 0 && !config.services.refModel) {
    throw new GrpoConfigError("grpo.beta > 0 needs a reference model: add services.ref_model or set grpo.beta: 0");
  }
}

export async function runGrpo(options: GrpoRunOptions): Promise<GrpoRunResult> {
  const { config } = options;
  const log = options.log ?? ((l: string) => console.log(l));
  checkPlacement(config);
  const outputDir = resolve(config.outputDir);
  const checkpointDir = resolve(config.checkpoint.folder);
  mkdirSync(outputDir, { recursive: true });
  saveConfig(join(outputDir, "config.yaml"), options.rawConfig);
  torch.manualSeed(config.training.seed);

  const modelSpec = { ...config.model, dtype: config.training.dtype ?? config.model.dtype };
  const { model: policy, tokenizer, source } = resolveModel(modelSpec);
  const refModel: CausalLM | null = config.grpo.beta > 0 ? resolveModel(modelSpec).model.eval() : null;
  if (refModel) for (const p of refModel.parameters()) p.requiresGrad_(false);
  const data = await resolveDataset(config.dataset);
  const rewards = await resolveRewards(config.rewards);
  const loss = await resolveLoss({ ...config.grpo, entropyCoef: config.training.entropyCoef });
  const encode = (ex: PromptExample) => {
    const ids = encodePrompt(tokenizer, ex.prompt, config.dataset);
    if (ids.length > config.grpo.maxPromptTokens) {
      throw new GrpoConfigError(`prompt '${ex.id}' has ${ids.length} tokens > grpo.max_prompt_tokens (${config.grpo.maxPromptTokens})`);
    }
    return ids;
  };
  const n = config.grpo.nSamples;
  const promptsPerRollout = Math.max(1, Math.ceil(config.training.batchSize / n));
  const maxBatchSize = Math.min(128, promptsPerRollout * n);
  const maxSeqLen = Math.min(policy.maxPositions, config.grpo.maxPromptTokens + config.grpo.maxNewTokens);
  const trainer = new Trainer({
    model: policy,
    loss,
    optimizer: { lr: config.training.learningRate, betas: config.optimizer.betas as [number, number], eps: config.optimizer.eps, weightDecay: config.optimizer.weightDecay },
    schedule: { warmupSteps: config.lrScheduler.warmupSteps, decay: config.lrScheduler.decayType, totalSteps: config.training.steps, minLrRatio: config.lrScheduler.lrMin / config.training.learningRate },
    maxNorm: config.training.maxNorm,
    maxBadSteps: config.training.maxBadSteps,
    temperature: config.grpo.temperature,
    entropy: true,
    warn: (m) => log(`warning: ${m}`),
  });
  const buffer = new ReplayBuffer<Episode>({ batchSize: config.training.batchSize, maxPolicyAge: config.grpo.maxPolicyAge, maxBufferSize: config.replayBuffer.capacity, seed: config.training.seed });
  const sampler = new ExampleSampler({ examples: data.train, seed: config.dataset.seed });
  const evalExamples = data.eval.slice(0, config.eval.numPrompts);
  const evalPromptIds = evalExamples.map(encode);
  const runBackends = createRunBackends({ dir: outputDir, totalSteps: config.training.steps, console: options.progress === false ? false : {}, title: "torchforge GRPO" });
  const logger = new MetricLogger({ backends: runBackends.backends });
  // Started last: everything that can reject the config has run, so no process is left behind.
  const gen = await startGenerator(config, { modelSpec, maxBatchSize, maxSeqLen, policy, tokenizer });
  const engine = gen.generator;

  let policyVersion = 0;
  if (options.resume && hasCheckpoint(checkpointDir)) {
    const state = trainer.load(checkpointDir);
    policyVersion = state.policyVersion;
    const extra = state.extra as { replayBuffer?: Parameters<typeof buffer.loadStateDict>[0]; sampler?: Parameters<typeof sampler.loadStateDict>[0] };
    if (extra.replayBuffer) buffer.loadStateDict(extra.replayBuffer);
    if (extra.sampler) sampler.loadStateDict(extra.sampler);
    log(`resumed from ${state.path} at step ${state.step} (policy version ${policyVersion})`);
  }
  await gen.sync(policyVersion);
  log(`GRPO: model ${source} (${policy.numParameters().toLocaleString()} parameters), ${data.train.length} train / ${evalExamples.length} eval prompts, loss ${config.grpo.loss}, n=${n}, batch ${config.training.batchSize}`);

  const evals: GrpoRunResult["evals"] = [];
  const runEval = async (step: number) => {
    if (!evalExamples.length) return;
    const t0 = performance.now();
    const result = await evaluate(engine, evalExamples, { promptIds: evalPromptIds, maxTokens: config.grpo.maxNewTokens, samples: config.eval.nSamples, temperature: config.eval.temperature || 1, seed: step });
    evals.push({ step, result });
    recordMetric("eval/accuracy", result.accuracy);
    if (result.passAtK !== undefined) recordMetric(`eval/pass@${result.k}`, result.passAtK);
    recordMetric("eval/response_length", result.meanResponseTokens);
    recordMetric("main_perf/eval_s", (performance.now() - t0) / 1000);
    log(`eval @ step ${step}: greedy accuracy ${(result.accuracy * 100).toFixed(1)}%${result.passAtK !== undefined ? `, pass@${result.k} ${(result.passAtK * 100).toFixed(1)}%` : ""} — e.g. ${JSON.stringify(result.sample)}`);
  };
  const save = () => {
    trainer.save(checkpointDir, {
      policyVersion,
      rng: { seed: config.training.seed, step: trainer.step },
      extra: { replayBuffer: buffer.stateDict(), sampler: sampler.stateDict() },
      keepLast: config.checkpoint.keepLast ?? undefined,
    });
  };

  const rolloutOnce = async (tag: number, attempt: number) => {
    const examples = Array.from({ length: promptsPerRollout }, () => sampler.sample());
    const seed = (config.training.seed * 1_000_003 + tag * 101 + attempt) >>> 0;
    const r = await rollout({
      engine, rewards, examples, promptIds: examples.map(encode), refModel,
      sampling: { n, temperature: config.grpo.temperature, topP: config.grpo.topP, topK: config.grpo.topK, minP: config.grpo.minP, maxTokens: config.grpo.maxNewTokens, stop: config.grpo.stop, seed },
      filterZeroVariance: config.grpo.filterZeroVariance, filterTruncated: config.grpo.filterTruncated,
      advantageMethod: config.grpo.scaleAdvantages ? "grpo" : "dr-grpo",
    });
    for (const e of r.episodes) buffer.add(e);
    return r.episodes.length;
  };
  // Colocated: rollouts and training alternate (one thread; deterministic, so resume is exact).
  // Separate: `rollout_workers` loops keep the generator replicas busy while the trainer steps,
  // bounded by the buffer (back-pressure) and the staleness bound `max_policy_age`.
  const concurrent = config.placement === "separate";
  let stopRollouts = false;
  let rolloutError: unknown;
  let emptyRollouts = 0;
  const workers = concurrent
    ? Array.from({ length: config.grpo.rolloutWorkers }, async (_, w) => {
        for (let i = 0; !stopRollouts && rolloutError === undefined; i++) {
          if (buffer.size >= 2 * config.training.batchSize) {
            await sleep(5);
            continue;
          }
          try {
            emptyRollouts = (await rolloutOnce(1_000_000 * (w + 1) + i, 0)) > 0 ? 0 : emptyRollouts + 1;
          } catch (err) {
            rolloutError = err;
          }
        }
      })
    : [];
  const nextBatch = async (): Promise<Episode[][]> => {
    for (let attempt = 0; ; attempt++) {
      const batches = buffer.sample(policyVersion);
      if (batches) return batches;
      if (rolloutError !== undefined) throw rolloutError;
      // Colocated counts its own attempts; separate counts the workers' empty rollouts in a row.
      if ((concurrent ? emptyRollouts : attempt) >= 16) {
        throw new GrpoConfigError("16 rollouts in a row produced no trainable group (all rewards equal?); check the rewards or set grpo.filter_zero_variance: false");
      }
      if (concurrent) await sleep(5);
      else await rolloutOnce(trainer.step, attempt);
    }
  };

  const evalEvery = config.eval.evalEveryNSteps;
  if (trainer.step === 0 && evalEvery) {
    await runEval(0);
    await logger.flush(0); // the starting point is its own row (step 0) in metrics and the dashboard
  }
  let stoppedEarly = false;
  try {
    while (trainer.step < config.training.steps) {
      if (options.signal?.aborted) {
        stoppedEarly = true;
        break;
      }
      const stepStart = performance.now();
      const batches = await nextBatch();
      const episodes = batches[0]!;
      const micro = splitEvenly(episodes, config.training.gradientAccumulationSteps);
      const batch = collate(micro, { padId: tokenizer.padTokenId });
      const result = (() => {
        try {
          return trainer.trainStep(batch);
        } finally {
          torch.dispose(batch);
        }
      })();
      policyVersion += 1;
      if (config.placement === "colocated" || trainer.step % config.training.syncInterval === 0) {
        const t0 = performance.now();
        await gen.sync(policyVersion);
        recordMetric("main_perf/weight_sync_s", (performance.now() - t0) / 1000);
      }
      for (const [k, v] of Object.entries(trainStepMetrics(result))) recordMetric(k, v);
      for (const [k, v] of Object.entries(buffer.metrics())) if (typeof v === "number") recordMetric(`buffer/${k}`, v);
      recordMetric("main_perf/step_s", (performance.now() - stepStart) / 1000);
      const step = trainer.step;
      if (evalEvery && step % evalEvery === 0) await runEval(step);
      await logger.flush(step);
      if (config.checkpoint.enable && step % config.checkpoint.interval === 0) save();
    }
  } finally {
    stopRollouts = true; // a failed step must not leave rollout loops running
    await Promise.all(workers);
  }
  if (config.checkpoint.enable) save();
  if (evalEvery && trainer.step % evalEvery !== 0 && !stoppedEarly) {
    await runEval(trainer.step);
    await logger.flush(trainer.step);
  }
  await logger.close?.();
  const generatorState = gen.state ? { ...(await gen.state()), trainerChecksum: weightsChecksum(policy) } : undefined;
  await gen.close();
  trainer.dispose();
  policy.dispose();
  refModel?.dispose();
  return { steps: trainer.step, policyVersion, evals, outputDir, dashboardPath: runBackends.dashboardPath, checkpointDir, stoppedEarly, generatorState };
}

interface StartedGenerator {
  generator: Generator;
  /** Makes `version` (the trainer's current weights) the generator's. */
  sync(version: number): Promise<void>;
  close(): Promise<void>;
  /** Each replica's weight version and checksum (separate placement). */
  state?(): Promise<{ versions: number[]; checksums: number[]; pids: number[] }>;
}

async function startGenerator(
  config: GrpoConfig,
  o: { modelSpec: Parameters<typeof resolveModel>[0]; maxBatchSize: number; maxSeqLen: number; policy: CausalLM; tokenizer: ReturnType<typeof resolveModel>["tokenizer"] },
): Promise<StartedGenerator> {
  if (config.placement === "colocated") {
    const engine = new GenerationEngine({ model: o.policy, tokenizer: o.tokenizer, maxBatchSize: o.maxBatchSize, maxSeqLen: o.maxSeqLen, packWeights: config.services.generator.packWeights });
    return {
      generator: engine,
      sync: async (version) => void (engine.generatorVersion = version), // shared tensors: already live
      close: async () => engine.dispose(),
    };
  }
  const store = SharedMemoryStore.create({ name: `grpo-${process.pid}` });
  const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
  const spec = config.services.generator;
  // One libtorch thread per generator process: several processes spinning 2 threads each on a
  // small machine would fight over the cores.
  const service = await GeneratorActor.options({ procs: 1, numReplicas: spec.numReplicas, env: { TORCHFORGE_NUM_THREADS: "1" } })
    .asService({ model: o.modelSpec, maxBatchSize: o.maxBatchSize, maxSeqLen: o.maxSeqLen, packWeights: spec.packWeights, storeRoot: store.root });
  return {
    generator: { generate: (requests, sampling) => service.generate.route(requests, sampling) },
    sync: async (version) => {
      await versions.publish(version, o.policy.stateDict());
      await service.updateWeights.fanout(version);
    },
    close: async () => {
      await service.shutdown();
      await store.close();
    },
    state: async () => ({ versions: await service.version.fanout(), checksums: await service.weightsChecksum.fanout(), pids: await service.pid.fanout() }),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function splitEvenly<T>(xs: T[], parts: number): T[][] {
  const k = Math.min(parts, xs.length);
  const out: T[][] = Array.from({ length: k }, () => []);
  xs.forEach((x, i) => out[i % k]!.push(x));
  return out;
}

export type { MetricValue };
