/**
 * Config sections shared by the GRPO and SFT apps. Keys are snake_case, as in the seed's YAML;
 * every default is written here (`.prefault({})` lets a missing section take its fields' defaults).
 * Sections are strict: an unknown key is an error with a did-you-mean, never silently ignored.
 */
import { z } from "zod";

const positiveInt = () => z.number().int().positive();
const nonNegativeInt = () => z.number().int().nonnegative();

export const dtypeSchema = z.enum(["float32", "bfloat16", "float16"]);

/**
 * The model to load: a local HF model directory, a hub id resolved in the standard HF cache, or a
 * built-in preset. The seed's plain-string form (`model: "Qwen/Qwen3-1.7B"`) means `{ path }`.
 */
export const modelObjectSchema = z.strictObject({
  /** HF model directory, hub id (`Qwen/Qwen3-1.7B`), or `.gguf` file (`~` expands to the home directory). */
  path: z.string().optional(),
  /** Built-in tiny preset (e.g. `tiny-qwen3`) instead of `path`. */
  preset: z.string().optional(),
  /** Tokenizer directory (or `.gguf` file) when it differs from `path`. */
  tokenizer_path: z.string().optional(),
  /** Weight dtype at load. @default "float32" */
  dtype: dtypeSchema.default("float32"),
  /** Seed's torchtitan-style fields, accepted for compatibility. */
  name: z.string().optional(),
  flavor: z.string().optional(),
  hf_assets_path: z.string().optional(),
  /** Seed for randomly initialised presets. @default 0 */
  seed: z.number().int().default(0),
});
export const modelSchema = z.union([
  z.string().transform((path) => modelObjectSchema.parse({ path })),
  modelObjectSchema,
]);

export const datasetSchema = z.strictObject({
  /** Local JSONL/Parquet file or directory, hub id, or built-in task name (`arithmetic`). */
  path: z.string(),
  /** @default "train" */
  split: z.string().default("train"),
  /** Seed's spelling of `split`. */
  data_split: z.string().optional(),
  revision: z.string().optional(),
  /** @default false */
  streaming: z.boolean().default(false),
  /** Seed passes the model id to the dataset actor for its tokenizer. */
  model: z.string().optional(),
  /** Held-out split for evaluation; null disables. @default null */
  eval_split: z.string().nullable().default(null),
  prompt_key: z.string().optional(),
  answer_key: z.string().optional(),
  /** Cap on examples read (null: all). @default null */
  max_samples: positiveInt().nullable().default(null),
  /** Shuffle seed. @default 0 */
  seed: z.number().int().default(0),
  /** `chat`: prompts go through the tokenizer's chat template; `raw`: the prompt text as is. @default "chat" */
  prompt_format: z.enum(["chat", "raw"]).default("chat"),
  /** System message for chat prompts (null: none). @default null */
  system_prompt: z.string().nullable().default(null),
  /**
   * Example exchanges put before every chat prompt as earlier turns (after the system message), to
   * show a small model the answer format. @default []
   */
  few_shot: z.array(z.strictObject({ user: z.string(), assistant: z.string() })).default([]),
});

/** One service or actor's placement (`services.generator`, `services.ref_model`...). */
export const serviceSchema = z.strictObject({
  /** Processes per replica. @default 1 */
  procs: positiveInt().default(1),
  /** @default 1 */
  num_replicas: positiveInt().default(1),
  /** @default false (CPU) */
  with_gpus: z.boolean().default(false),
  /** Host names for multi-host placement; empty: this host. @default [] */
  hosts: z.array(z.string()).default([]),
});

export const parallelismSchema = z.strictObject({
  data_parallel_replicate_degree: positiveInt().default(1),
  /** -1: all remaining devices, as in torchtitan. @default 1 */
  data_parallel_shard_degree: z.number().int().min(-1).default(1),
  tensor_parallel_degree: positiveInt().default(1),
  pipeline_parallel_degree: positiveInt().default(1),
  context_parallel_degree: positiveInt().default(1),
  expert_parallel_degree: positiveInt().default(1),
  disable_loss_parallel: z.boolean().default(false),
});

export const checkpointSchema = z.strictObject({
  /** @default true */
  enable: z.boolean().default(true),
  /** Seed SFT spelling of `enable`. */
  enable_checkpoint: z.boolean().optional(),
  /** Where checkpoints are written. @default "./checkpoints" */
  folder: z.string().default("./checkpoints"),
  /** Save every N steps. @default 500 */
  interval: positiveInt().default(500),
  /** Initial weights (HF dir or `hf://id`); null: `model`. @default null */
  initial_load_path: z.string().nullable().default(null),
  initial_load_in_hf: z.boolean().default(true),
  last_save_in_hf: z.boolean().default(true),
  async_mode: z.enum(["disabled", "async"]).default("disabled"),
  /** Keep only the newest N checkpoints; null keeps all. @default 3 */
  keep_last: positiveInt().nullable().default(3),
  /** Resume from the newest checkpoint in `folder`. @default false */
  resume: z.boolean().default(false),
});

const loggingMode = z.enum(["global_reduce", "per_rank_reduce", "per_rank_no_reduce"]);
const backendCommon = {
  reduce_across_ranks: z.boolean().optional(),
  logging_mode: loggingMode.optional(),
};
/** Metric backends by name; each present key enables that backend. */
export const metricLoggingSchema = z.strictObject({
  console: z.strictObject({ ...backendCommon, progress_bar: z.boolean().default(true) }).optional(),
  jsonl: z.strictObject({ ...backendCommon, path: z.string().optional() }).optional(),
  tensorboard: z.strictObject({ ...backendCommon, log_dir: z.string().optional() }).optional(),
  dashboard: z.strictObject({ ...backendCommon, path: z.string().optional() }).optional(),
  wandb: z
    .strictObject({ ...backendCommon, project: z.string().optional(), group: z.string().optional(), entity: z.string().optional() })
    .optional(),
});

export const optimizerSchema = z.strictObject({
  /** @default "AdamW" */
  name: z.enum(["AdamW", "Adam", "SGD"]).default("AdamW"),
  /** Overrides `training.learning_rate` when set. */
  lr: z.number().positive().optional(),
  /** @default 1e-8 */
  eps: z.number().positive().default(1e-8),
  /** @default 0 */
  weight_decay: z.number().nonnegative().default(0),
  /** @default [0.9, 0.999] */
  betas: z.tuple([z.number(), z.number()]).default([0.9, 0.999]),
});

export const lrSchedulerSchema = z.strictObject({
  /** @default 0 */
  warmup_steps: nonNegativeInt().default(0),
  /** @default "constant" */
  decay_type: z.enum(["constant", "linear", "cosine"]).default("constant"),
  /** Final LR as a fraction of the peak. @default 0 */
  lr_min: z.number().nonnegative().default(0),
});

export const evalDatasetSchema = z.strictObject({ path: z.string(), split: z.string().default("train") });

export const evalSchema = z.strictObject({
  /** Evaluate every N training steps; null disables. @default null */
  eval_every_n_steps: positiveInt().nullable().default(null),
  /** Cap on eval batches (null: whole split). @default null */
  max_eval_steps: positiveInt().nullable().default(null),
  /** Held-out prompts per evaluation (GRPO). @default 64 */
  num_prompts: positiveInt().default(64),
  /** Samples per prompt for pass@k (1: greedy accuracy only). @default 1 */
  n_samples: positiveInt().default(1),
  /** 0 is greedy. @default 0 */
  temperature: z.number().nonnegative().default(0),
  /** Extra eval datasets (seed SFT form). @default [] */
  datasets: z.array(evalDatasetSchema).default([]),
});

/** Compile/activation-checkpoint/comm knobs the seed passes to torchtitan; accepted, mostly ignored here. */
export const compileSchema = z.strictObject({ enable: z.boolean().default(false) });
export const activationCheckpointSchema = z.strictObject({
  mode: z.enum(["none", "selective", "full"]).default("none"),
  selective_ac_option: z.string().optional(),
});
export const commSchema = z.strictObject({ trace_buf_size: nonNegativeInt().optional() });
