/**
 * SFT app config (`apps/sft/*.yaml`). Accepts the seed's keys (`model_name`, `processes`,
 * `training.local_batch_size`, `training.datasets`, `metrics`) beside the primary layout.
 */
import { z } from "zod";
import {
  activationCheckpointSchema,
  checkpointSchema,
  commSchema,
  compileSchema,
  datasetSchema,
  dtypeSchema,
  evalDatasetSchema,
  evalSchema,
  loraSchema,
  lrSchedulerSchema,
  metricLoggingSchema,
  modelSchema,
  optimizerSchema,
  parallelismSchema,
  checkParallelism,
  serviceSchema,
} from "./common.ts";

const positiveInt = () => z.number().int().positive();

export const sftDatasetSchema = datasetSchema.extend({
  /** `messages` (chat), `prompt_response`, or `auto` (detect per file). @default "auto" */
  format: z.enum(["auto", "messages", "prompt_response"]).default("auto"),
  /** Seed key, accepted for compatibility; not read. @default "messages" */
  messages_key: z.string().default("messages"),
  /** Response field of prompt/response rows; unset: `response`, else `completion`. */
  response_key: z.string().min(1).optional(),
});

export const sftTrainingSchema = z.strictObject({
  /** Sequences per micro-batch. @default 8 */
  batch_size: positiveInt().default(8),
  /** Seed spelling of `batch_size`; wins when set. */
  local_batch_size: positiveInt().optional(),
  /** Peak learning rate (after warmup). @default 1e-5 */
  learning_rate: z.number().positive().default(1e-5),
  /** Max tokens per training sequence (longer examples are cut). @default 2048 */
  seq_len: positiveInt().default(2048),
  /** Trainer compute dtype. @default "float32" */
  dtype: dtypeSchema.default("float32"),
  /** Micro-batches per optimizer step. @default 1 */
  gradient_accumulation_steps: positiveInt().default(1),
  /** Total optimizer steps. @default 1000 */
  steps: positiveInt().default(1000),
  /** Stop after this many epochs (null: only `steps`). @default null */
  epochs: positiveInt().nullable().default(null),
  /** Gradient clipping norm (null: off). @default 1.0 */
  max_norm: z.number().positive().nullable().default(1.0),
  /** Pack several examples into one `seq_len` row. @default false */
  packing: z.boolean().default(false),
  /** Seed for init and data order. @default 0 */
  seed: z.number().int().default(0),
  /** Consecutive NaN/inf losses tolerated (each skipped with a warning) before aborting. @default 3 */
  max_bad_steps: positiveInt().default(3),
  /** Recompute each decoder block in backward instead of storing its activations (less memory, ~1/3 more compute). @default false */
  activation_checkpointing: z.boolean().default(false),
  compile: z.boolean().optional(),
  /** Seed form: training datasets listed here instead of `dataset`. */
  datasets: z.array(evalDatasetSchema).optional(),
  /** Seed (old) dataset name. */
  dataset: z.string().optional(),
});

export const sftConfigSchema = z.strictObject({
  /** Where runs write the resolved config, metrics, dashboard, checkpoints and the final model. @default "./outputs" */
  output_dir: z.string().default("./outputs"),
  /** The model to fine-tune. */
  model: modelSchema,
  /** Seed global, interpolation source (`hf://${model_name}`). */
  model_name: z.string().optional(),
  /** Absent when the seed's `training.datasets` is used. */
  dataset: sftDatasetSchema.optional(),
  /** Optimizer steps, batch and trainer numerics. */
  training: sftTrainingSchema.prefault({}),
  /** LoRA adapters over a frozen base; absent: full fine-tuning. */
  lora: loraSchema.optional(),
  optimizer: optimizerSchema.prefault({}),
  /** Learning-rate warmup and decay. */
  lr_scheduler: lrSchedulerSchema.prefault({}),
  /** Held-out evaluation (loss on `dataset.eval_split`). */
  eval: evalSchema.prefault({}),
  parallelism: parallelismSchema.prefault({}),
  checkpoint: checkpointSchema.prefault({}),
  /** Seed's metric backends; accepted, not read: the app always writes metrics.jsonl, TensorBoard events and dashboard.html under output_dir. @default { console: {} } */
  metric_logging: metricLoggingSchema.prefault({ console: {} }),
  /** Trainer placement (the seed's `processes`). @default { procs: 1 } */
  processes: serviceSchema.prefault({}),
  // Seed sections accepted for compatibility.
  metrics: z.strictObject({ logger: z.string().optional(), log_freq: z.record(z.string(), positiveInt()).optional() }).optional(),
  compile: compileSchema.optional(),
  activation_checkpoint: activationCheckpointSchema.optional(),
  comm: commSchema.optional(),
}).superRefine((c, ctx) => {
  checkParallelism(c.parallelism, c.processes.procs, ["parallelism"], "processes.procs", ctx);
});
