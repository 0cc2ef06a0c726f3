/**
 * The SFT app's loop: tokenize (loss on response/assistant tokens only), optionally pack,
 * shuffle into micro-batches, train with the trainer's global token normalisation, evaluate,
 * checkpoint, and write the final model in Hugging Face layout (with its tokenizer files) to
 * `<output_dir>/model`, which the GRPO app can start from. With a `lora` section only the
 * adapters train; they are written as a PEFT adapter to `<output_dir>/adapter` (and merged into
 * `<output_dir>/model` with `lora.save_merged`).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { savePretrained } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { Trainer, sftLossFn, trainStepMetrics, hasCheckpoint, type SftMicroBatch } from "../../src/trainer/index.ts";
import { SeededRandom, packExamples, tokenizeSftRecord, type SftRecord, type TokenizedExample } from "../../src/data/index.ts";
import { MetricLogger, createRunBackends, recordMetric } from "../../src/observability/index.ts";
import { saveConfig, type SftConfig } from "../../src/config/index.ts";
import { resolveModel } from "../shared/resolve-model.ts";
import { serviceDevice } from "../shared/device.ts";
import { trainerOptionsFromConfig } from "../shared/trainer-options.ts";
import { inRunDirectory } from "../shared/run-directory.ts";
import { resolveDataset, resolveSftRecords, splitFiles } from "../shared/resolve-dataset.ts";
import { encodePrompt } from "../shared/prompts.ts";
import { evaluate, type EvalResult } from "../shared/evaluate.ts";
import { joinDataParallel, rankShare, type DataParallelRank } from "../shared/data-parallel.ts";
import { attachLora, copyTokenizerFiles, exportLora } from "../shared/lora.ts";

export interface SftRunOptions {
  config: SftConfig;
  rawConfig: unknown;
  /** `true` requires a checkpoint (error otherwise); `"auto"` resumes when one exists. @default false */
  resume?: boolean | "auto";
  signal?: AbortSignal;
  log?: (line: string) => void;
  progress?: boolean;
}

export interface SftRunResult {
  steps: number;
  /** The trained (with LoRA: merged) model; with LoRA and `save_merged: false`, the adapter directory. */
  modelDir: string;
  /** The PEFT adapter directory (LoRA runs only). */
  adapterDir?: string;
  evals: { step: number; result: EvalResult }[];
  dashboardPath?: string;
}

async function loadRecords(
  config: SftConfig,
): Promise<{ train: SftRecord[]; evalRecords: SftRecord[]; evalSet: Awaited<ReturnType<typeof resolveDataset>> | null }> {
  const ds = config.dataset;
  if (!ds) throw new TypeError("config 'dataset' is required (a JSONL file/directory of SFT records, or 'arithmetic[:level]')");
  if (ds.path.startsWith("arithmetic")) {
    const data = await resolveDataset(ds);
    if (!data.arithmetic)
      throw new TypeError(
        `dataset.path '${ds.path}' has no built-in SFT answers ` +
          "(the multiplication levels are for agents: see scripts/make-agent-sft-data.ts)",
      );
    return {
      train: data.arithmetic.sftRecords(ds.split === "test" ? "test" : "train", { style: "steps" }),
      evalRecords: [],
      evalSet: data,
    };
  }
  const split = ds.dataSplit ?? ds.split;
  const train = await resolveSftRecords(ds, split, ds.maxSamples ?? undefined);
  if (train.length === 0)
    throw new TypeError(`dataset.path '${ds.path}': ${splitFiles(ds, split)} has no records (split '${split}'); SFT needs at least one`);
  return {
    train,
    evalRecords: ds.evalSplit ? await resolveSftRecords(ds, ds.evalSplit, config.eval.numPrompts) : [],
    evalSet: null,
  };
}

function toBatch(rows: TokenizedExample[], padId: number): SftMicroBatch {
  const T = Math.max(...rows.map((r) => r.ids.length));
  const pad = <X>(xs: X[], v: X) => [...xs, ...new Array<X>(T - xs.length).fill(v)];
  return {
    inputIds: torch.tensor(
      rows.map((r) => pad(r.ids, padId)),
      { dtype: "int64" },
    ),
    lossMask: torch.tensor(
      rows.map((r) => pad(r.lossMask, 0)),
      { dtype: "float32" },
    ),
  };
}

/** Runs SFT holding the output directory's lock (one run per `output_dir`). */
export async function runSft(options: SftRunOptions): Promise<SftRunResult> {
  const { config } = options;
  const log = options.log ?? ((l: string) => console.log(l));
  const where = { outputDir: config.outputDir, checkpointDir: config.checkpoint.folder, resume: options.resume, log };
  const dp = joinDataParallel();
  try {
    // Only the main rank owns the output directory; the other ranks write nothing there.
    if (dp && !dp.isMain) return await runSftLocked(options, dp);
    return await inRunDirectory({ ...where, error: (m) => new TypeError(m) }, () => runSftLocked(options, dp));
  } finally {
    dp?.group.destroy();
  }
}

async function runSftLocked(options: SftRunOptions, dp: DataParallelRank | null): Promise<SftRunResult> {
  const { config } = options;
  const isMain = dp?.isMain ?? true;
  const log = isMain ? (options.log ?? ((l: string) => console.log(l))) : () => {};
  const outputDir = resolve(config.outputDir);
  if (isMain) mkdirSync(outputDir, { recursive: true });
  torch.manualSeed(config.training.seed);
  const dtype = config.lora?.baseDtype ?? config.training.dtype ?? config.model.dtype;
  const device = serviceDevice({ withGpus: config.processes.withGpus, field: "processes.with_gpus" });
  const { model, tokenizer, source } = resolveModel({ ...config.model, dtype, device });
  const lora = attachLora(model, config.lora, log);
  const ds = config.dataset!;
  const { train, evalRecords, evalSet } = await loadRecords(config);
  // Written once the data loaded: a launch that fails keeps the previous run's config.
  if (isMain) saveConfig(join(outputDir, "config.yaml"), options.rawConfig);
  let examples = train.map((r) =>
    tokenizeSftRecord(tokenizer, r, {
      promptFormat: ds.promptFormat,
      systemPrompt: ds.systemPrompt,
      fewShot: ds.fewShot,
      maxLength: config.training.seqLen,
    }),
  );
  if (config.training.packing) examples = packExamples(examples, config.training.seqLen);
  const batchSize = config.training.localBatchSize ?? config.training.batchSize;
  const accum = config.training.gradientAccumulationSteps;
  const trainer = new Trainer<SftMicroBatch>({
    model,
    trainable: lora ?? undefined,
    loss: sftLossFn,
    ...trainerOptionsFromConfig(config, log),
    ...(dp ? { processGroup: dp.group, shardOptimizerState: config.parallelism.zeroStage === 1 } : {}),
  });
  const checkpointDir = resolve(config.checkpoint.folder);
  let resumeStep: number | undefined;
  if (options.resume && hasCheckpoint(checkpointDir)) {
    const state = trainer.load(checkpointDir);
    resumeStep = state.step;
    log(`resumed from ${state.path}`);
  }
  // A resumed run drops the records of steps after its checkpoint (they are logged again).
  const runBackends = isMain
    ? createRunBackends({
        dir: outputDir,
        totalSteps: config.training.steps,
        resumeStep,
        console: options.progress === false ? false : {},
        title: "torchforge SFT",
      })
    : { backends: [], dashboardPath: undefined };
  const logger = new MetricLogger({ backends: runBackends.backends });
  const evalExamples = evalSet && isMain ? evalSet.eval.slice(0, config.eval.numPrompts) : [];
  const engine = evalExamples.length
    ? new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen: Math.min(model.maxPositions, config.training.seqLen) })
    : null;
  const evalIds = evalExamples.map((e) => encodePrompt(tokenizer, e, ds));
  const evals: SftRunResult["evals"] = [];
  // Held-out chat / prompt-response data: mean next-token loss on assistant tokens.
  const evalRows = (isMain ? evalRecords : []).map((r) =>
    tokenizeSftRecord(tokenizer, r, {
      promptFormat: ds.promptFormat,
      systemPrompt: ds.systemPrompt,
      fewShot: ds.fewShot,
      maxLength: config.training.seqLen,
    }),
  );
  const evalLoss = (): number => {
    let nll = 0;
    let tokens = 0;
    for (let i = 0; i < evalRows.length; i += batchSize) {
      const b = toBatch(evalRows.slice(i, i + batchSize), tokenizer.padTokenId);
      try {
        torch.noGrad(() =>
          torch.tidy(() => {
            const { loss, metrics } = sftLossFn({ model, batch: b, globalTokenCount: 1, globalSequenceCount: 1 });
            nll += loss.item();
            tokens += (metrics as { tokens: number }).tokens;
          }),
        );
      } finally {
        torch.dispose(b);
      }
    }
    return nll / Math.max(1, tokens);
  };
  const runEval = async (step: number) => {
    if (evalRows.length) {
      const l = evalLoss();
      recordMetric("eval/loss", l);
      log(`eval @ step ${step}: held-out loss ${l.toFixed(4)} over ${evalRows.length} examples`);
    }
    if (!engine) return;
    const result = await evaluate(engine, evalExamples, { promptIds: evalIds, maxTokens: Math.min(64, config.training.seqLen) });
    evals.push({ step, result });
    recordMetric("eval/accuracy", result.accuracy);
    log(`eval @ step ${step}: greedy accuracy ${(result.accuracy * 100).toFixed(1)}% — e.g. ${JSON.stringify(result.sample)}`);
  };
  log(
    `SFT: model ${source} (${model.numParameters().toLocaleString()} parameters), ` +
      `${examples.length} training rows, batch ${batchSize} × ${accum}` +
      (dp ? ` per rank × ${dp.worldSize} data-parallel ranks` : "") +
      (trainer.optimizerStateOwners ? ", optimizer state sharded (ZeRO-1)" : ""),
  );
  const rng = new SeededRandom(config.training.seed);
  let order: number[] = [];
  // Every rank draws the same global batch (local batch × ranks) and trains on its own slice.
  const worldSize = dp?.worldSize ?? 1;
  const nextGlobalRows = (): TokenizedExample[] =>
    Array.from({ length: batchSize * worldSize }, () => {
      if (order.length === 0) order = rng.shuffle(examples.map((_, i) => i));
      return examples[order.pop()!]!;
    });
  // A resumed run replays the batches already trained on, so it continues the same data order
  // (with a constant LR, N steps resumed to M equal a fresh M-step run).
  for (let i = 0; i < trainer.step * accum; i++) nextGlobalRows();
  const nextRows = (): TokenizedExample[] => rankShare(nextGlobalRows(), dp?.rank ?? 0, worldSize);
  const evalEvery = config.eval.evalEveryNSteps;
  while (trainer.step < config.training.steps && !options.signal?.aborted) {
    const micro = Array.from({ length: accum }, () => toBatch(nextRows(), tokenizer.padTokenId));
    try {
      for (const [k, v] of Object.entries(trainStepMetrics(trainer.trainStep(micro)))) recordMetric(k, v);
    } finally {
      torch.dispose(micro);
    }
    const step = trainer.step;
    if (evalEvery && step % evalEvery === 0) await runEval(step);
    await logger.flush(step);
    if (config.checkpoint.enable && step % config.checkpoint.interval === 0) {
      // ZeRO-1: every rank hands its optimizer state to rank 0 (a no-op unsharded).
      trainer.consolidateOptimizerState();
      if (isMain) trainer.save(checkpointDir, { keepLast: config.checkpoint.keepLast ?? undefined });
    }
  }
  if (evalEvery && trainer.step % evalEvery !== 0) await runEval(trainer.step);
  let modelDir = join(outputDir, "model");
  let adapterDir: string | undefined;
  if (isMain && lora && config.lora) {
    const out = exportLora(lora, config.lora, { outputDir, baseModel: source, tokenizer, log });
    adapterDir = out.adapterDir;
    modelDir = out.modelDir ?? out.adapterDir;
    log(`model written to ${modelDir}`);
  } else if (isMain) {
    savePretrained(model, modelDir);
    // The tokenizer travels with the weights, so the directory loads on its own (here or in HF).
    copyTokenizerFiles(tokenizer, modelDir);
    log(`model written to ${modelDir}`);
  }
  await logger.close?.();
  engine?.dispose();
  trainer.dispose();
  lora?.dispose();
  model.dispose();
  return { steps: trainer.step, modelDir, ...(adapterDir ? { adapterDir } : {}), evals, dashboardPath: runBackends.dashboardPath };
}
