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
  serviceSchema,
} from "./common.ts";

const positiveInt = () => z.number().int().positive();

export const sftDatasetSchema = datasetSchema.extend({
  /** `messages` (chat), `prompt_response`, or `auto` (detect per file). @default "auto" */
  format: z.enum(["auto", "messages", "prompt_response"]).default("auto"),
  /** @default "messages" */
  messages_key: z.string().default("messages"),
  /** @default "response" */
  response_key: z.string().default("response"),
});

export const sftTrainingSchema = z.strictObject({
  /** Sequences per micro-batch. @default 8 */
  batch_size: positiveInt().default(8),
  /** Seed spelling of `batch_size`; wins when set. */
  local_batch_size: positiveInt().optional(),
  /** @default 1e-5 */
  learning_rate: z.number().positive().default(1e-5),
  /** @default 2048 */
  seq_len: positiveInt().default(2048),
  /** @default "float32" */
  dtype: dtypeSchema.default("float32"),
  /** @default 1 */
  gradient_accumulation_steps: positiveInt().default(1),
  /** @default 1000 */
  steps: positiveInt().default(1000),
  /** Stop after this many epochs (null: only `steps`). @default null */
  epochs: positiveInt().nullable().default(null),
  /** @default 1.0 */
  max_norm: z.number().positive().nullable().default(1.0),
  /** Pack several examples into one `seq_len` row. @default false */
  packing: z.boolean().default(false),
  /** @default 0 */
  seed: z.number().int().default(0),
  /** @default 3 */
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
  /** @default "./outputs" */
  output_dir: z.string().default("./outputs"),
  model: modelSchema,
  /** Seed global, interpolation source (`hf://${model_name}`). */
  model_name: z.string().optional(),
  /** Absent when the seed's `training.datasets` is used. */
  dataset: sftDatasetSchema.optional(),
  training: sftTrainingSchema.prefault({}),
  /** LoRA adapters over a frozen base; absent: full fine-tuning. */
  lora: loraSchema.optional(),
  optimizer: optimizerSchema.prefault({}),
  lr_scheduler: lrSchedulerSchema.prefault({}),
  eval: evalSchema.prefault({}),
  parallelism: parallelismSchema.prefault({}),
  checkpoint: checkpointSchema.prefault({}),
  /** @default { console: {} } */
  metric_logging: metricLoggingSchema.prefault({ console: {} }),
  /** Trainer placement (the seed's `processes`). @default { procs: 1 } */
  processes: serviceSchema.prefault({}),
  // Seed sections accepted for compatibility.
  metrics: z.strictObject({ logger: z.string().optional(), log_freq: z.record(z.string(), positiveInt()).optional() }).optional(),
  compile: compileSchema.optional(),
  activation_checkpoint: activationCheckpointSchema.optional(),
  comm: commSchema.optional(),
});
