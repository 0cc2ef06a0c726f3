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
  /** Seed's torchtitan model flavor; accepted, not read. */
  flavor: z.string().optional(),
  /** Seed's torchtitan asset directory; accepted, not read. */
  hf_assets_path: z.string().optional(),
  /** Seed for randomly initialised presets. @default 0 */
  seed: z.number().int().default(0),
});
export const modelSchema = z.union([
  z.string().transform((path) => modelObjectSchema.parse({ path })),
  modelObjectSchema,
]);

/**
 * LoRA adapters (absent: full fine-tuning). The base model is frozen; only the adapters train,
 * checkpoint and travel to generators. Keys follow PEFT's `LoraConfig` where they exist.
 */
export const loraSchema = z.strictObject({
  /** Rank of A (r × in) and B (out × r). @default 8 */
  r: positiveInt().default(8),
  /** The branch is scaled by alpha / r (alpha / √r with use_rslora). @default 16 */
  alpha: z.number().positive().default(16),
  /** Dropout on the adapters' input while training. @default 0 */
  dropout: z.number().min(0).lt(1).default(0),
  /** HF module names (a list matches name suffixes, as PEFT), one regular expression string, or "all-linear". @default ["q_proj", "k_proj", "v_proj", "o_proj"] */
  target_modules: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]).default(["q_proj", "k_proj", "v_proj", "o_proj"]),
  /** rsLoRA scaling alpha / √r. @default false */
  use_rslora: z.boolean().default(false),
  /** dtype of the frozen base weights (QLoRA-style low-precision base; the adapters stay float32). @default the trainer's dtype */
  base_dtype: dtypeSchema.optional(),
  /**
   * How generators apply the adapters: `merged` adds them into the base weights once per weight
   * version (decode runs at the base model's speed; keeps one copy of the adapted weights), or
   * `unmerged` computes the extra branch in every forward (no extra memory). @default "merged"
   */
  generator: z.enum(["merged", "unmerged"]).default("merged"),
  /** Also write the adapted model merged into plain weights at the end (`<output_dir>/model`). @default true */
  save_merged: z.boolean().default(true),
});

export const datasetSchema = z.strictObject({
  /** Local .jsonl/.json/.parquet file or folder of split files, a hub id in the local HF cache (`openai/gsm8k`), or a built-in task (`arithmetic`). */
  path: z.string(),
  /** Split to train on: `<path>/<split>.jsonl` (or `.parquet`) for a directory. @default "train" */
  split: z.string().default("train"),
  /** Seed's spelling of `split`. */
  data_split: z.string().optional(),
  /** Hub cache revision: a branch/tag (`refs/`) or snapshot commit. @default refs/main, else the newest snapshot */
  revision: z.string().optional(),
  /** Seed key, accepted for compatibility; not read. @default false */
  streaming: z.boolean().default(false),
  /** Seed passes the model id to the dataset actor for its tokenizer. */
  model: z.string().optional(),
  /** Held-out split for evaluation; null disables. @default null */
  eval_split: z.string().nullable().default(null),
  /** Subset (HF config name) subfolder, e.g. `main` for `openai/gsm8k`; unset: top level, `data/`, `default/` or `main/`. */
  config: z.string().min(1).optional(),
  /** Field with the prompt: a string or an OpenAI-style `messages` list; unset: prompt, messages, question or problem. */
  prompt_field: z.string().min(1).optional(),
  /** Field with the reference answer; unset: answer, target or ground_truth. */
  answer_field: z.string().min(1).optional(),
  /** Older spellings of `prompt_field` / `answer_field`. */
  prompt_key: z.string().min(1).optional(),
  answer_key: z.string().min(1).optional(),
  /** Answer → target: `gsm8k` (number after `####`), `boxed` (last `\boxed{}`), `raw`, or `auto` (by marker). @default "auto" */
  answer_format: z.enum(["auto", "raw", "gsm8k", "boxed"]).default("auto"),
  /** `path/to/module.ts[#export]`: a function row → { prompt | messages, answer } (SFT: { messages } or { prompt, response }); null skips the row. */
  transform: z.string().min(1).optional(),
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
  /**
   * Host agents (`forge agent --host NAME`) to run the replicas on, by name: replica i on
   * hosts[i % length] (restarted on the next listed live host when its own is gone). Needs the
   * top-level `cluster` section. Empty: this host. @default []
   */
  hosts: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, "a host agent's name: letters, digits, '-' or '_' (no dots)")).default([]),
});

/**
 * Multi-host placement: the NATS server that host agents (`forge agent --nats URL --host NAME`)
 * joined. Needed by `services.*.hosts`; weights then travel through a TCP store served by the
 * controller instead of /dev/shm.
 */
export const clusterSchema = z.strictObject({
  /** NATS server URL(s), e.g. `nats://10.0.0.1:4222` (start one with `nats-server -a 0.0.0.0 -p 4222`). */
  nats: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Seconds to wait for the NATS server and for every host agent named in `services.*.hosts`. @default 10 */
  timeout_s: z.number().positive().default(10),
  /** A host agent silent this many seconds is dead: its replicas restart on the next listed live host. @default 2 */
  host_timeout_s: z.number().positive().default(2),
  /** Interface the controller's weight store listens on. @default "127.0.0.1" when `nats` is on the loopback, else "0.0.0.0" */
  store_bind: z.string().min(1).optional(),
  /** Address other hosts reach the weight store at. @default "127.0.0.1" for a loopback `store_bind`, else this machine's host name */
  store_host: z.string().min(1).optional(),
  /** Port of the weight store; 0 picks a free one. @default 0 */
  store_port: z.number().int().min(0).max(65535).default(0),
  /**
   * How weights reach generator replicas on other hosts: "c10d" (a Gloo broadcast from the controller to every
   * replica; the store port is its TCPStore rendezvous) or "tcp" (each replica streams the version from the
   * controller's TCP weight store). c10d measured 375 ms vs 1118 ms for 538 MB (BENCHMARKS.md). @default "c10d"
   */
  weight_sync: z.enum(["c10d", "tcp"]).default("c10d"),
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
  /**
   * ZeRO stage: 1 shards the optimizer state over the data-parallel trainer ranks (each keeps a
   * 1/N share; checkpoints keep the unsharded format); one process has nothing to shard. 2 and 3
   * are not implemented. @default 0
   */
  zero_stage: z.number().int().min(0).max(3).default(0),
});

type Parallelism = z.output<typeof parallelismSchema>;

/**
 * Parallelism degrees this project implements: data-parallel replication over the trainer's
 * `procs` ranks. Tensor, pipeline, context, expert and sharded data parallelism are refused with
 * an issue naming the key, never silently ignored.
 */
export function checkParallelism(p: Parallelism | undefined, trainerProcs: number, path: string[], procsKey: string, ctx: z.RefinementCtx, options: { zeroStageRead?: boolean } = {}): void {
  if (!p) return;
  if (p.zero_stage >= 2) {
    ctx.addIssue({ code: "custom", path: [...path, "zero_stage"], message: `${p.zero_stage}: ZeRO stage ${p.zero_stage} (sharded ${p.zero_stage === 2 ? "gradients" : "gradients and parameters"}) is not implemented; set it to 1 (sharded optimizer state) or 0` });
  } else if (p.zero_stage === 1 && options.zeroStageRead === false) {
    ctx.addIssue({ code: "custom", path: [...path, "zero_stage"], message: `1: not read in this section; set parallelism.zero_stage` });
  }
  for (const key of ["tensor_parallel_degree", "pipeline_parallel_degree", "context_parallel_degree", "expert_parallel_degree"] as const) {
    if (p[key] > 1) ctx.addIssue({ code: "custom", path: [...path, key], message: `${p[key]}: ${key.replace(/_degree$/, "").replaceAll("_", " ")} is not implemented (only data-parallel replication over ${procsKey}); set it to 1` });
  }
  const shard = p.data_parallel_shard_degree;
  if (shard > 1 || (shard === -1 && trainerProcs > 1)) {
    ctx.addIssue({ code: "custom", path: [...path, "data_parallel_shard_degree"], message: `${shard}: sharded data parallelism (FSDP/ZeRO) is not implemented; use data_parallel_replicate_degree with ${procsKey} (and zero_stage 1 to shard the optimizer state)` });
  }
  if (p.data_parallel_replicate_degree > 1 && p.data_parallel_replicate_degree !== trainerProcs) {
    ctx.addIssue({ code: "custom", path: [...path, "data_parallel_replicate_degree"], message: `${p.data_parallel_replicate_degree} must equal ${procsKey} (${trainerProcs}): each data-parallel replica is one trainer process` });
  }
}

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
  /** Seed's multi-rank reduction switch; accepted, not read (one controller logs). */
  reduce_across_ranks: z.boolean().optional(),
  /** Seed's multi-rank logging mode; accepted, not read. */
  logging_mode: loggingMode.optional(),
};
/** Metric backends by name; each present key enables that backend. */
export const metricLoggingSchema = z.strictObject({
  /** Seed backend section; accepted, not read (see `metric_logging`). */
  console: z.strictObject({ ...backendCommon, progress_bar: z.boolean().default(true) }).optional(),
  /** Seed backend section; accepted, not read (see `metric_logging`). */
  jsonl: z.strictObject({ ...backendCommon, path: z.string().optional() }).optional(),
  /** Seed backend section; accepted, not read (see `metric_logging`). */
  tensorboard: z.strictObject({ ...backendCommon, log_dir: z.string().optional() }).optional(),
  /** Seed backend section; accepted, not read (see `metric_logging`). */
  dashboard: z.strictObject({ ...backendCommon, path: z.string().optional() }).optional(),
  wandb: z
    .strictObject({ ...backendCommon, project: z.string().optional(), group: z.string().optional(), entity: z.string().optional() })
    .optional(),
});

export const optimizerSchema = z
  .strictObject({
    /** Optimizer (torch.optim semantics: AdamW decouples weight decay; Adam and SGD add it to the gradient as L2). @default "AdamW" */
    name: z.enum(["AdamW", "Adam", "SGD"]).default("AdamW"),
    /** Overrides `training.learning_rate` when set. */
    lr: z.number().positive().optional(),
    /** AdamW/Adam: the denominator epsilon. @default 1e-8 */
    eps: z.number().positive().optional(),
    /** Weight decay (decoupled for AdamW, L2 for Adam and SGD). @default 0 */
    weight_decay: z.number().nonnegative().default(0),
    /** AdamW/Adam: moment decay rates (β1, β2). @default [0.9, 0.999] */
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).optional(),
    /** SGD: momentum factor. @default 0 */
    momentum: z.number().nonnegative().optional(),
    /** SGD: Nesterov momentum (needs momentum > 0). @default false */
    nesterov: z.boolean().optional(),
  })
  .superRefine((o, ctx) => {
    // A key the named optimizer does not have would be silently ignored: refuse it instead.
    const adamKeys = ["eps", "betas"] as const;
    const sgdKeys = ["momentum", "nesterov"] as const;
    for (const key of o.name === "SGD" ? adamKeys : sgdKeys) {
      if (o[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `${key} is not an option of ${o.name} (only of ${o.name === "SGD" ? "AdamW and Adam" : "SGD"}); remove it or change optimizer.name` });
    }
    if (o.nesterov === true && !(o.momentum! > 0)) ctx.addIssue({ code: "custom", path: ["nesterov"], message: "nesterov needs optimizer.momentum > 0" });
  });

export const lrSchedulerSchema = z.strictObject({
  /** Steps of linear warmup from 0 to the peak learning rate. @default 0 */
  warmup_steps: nonNegativeInt().default(0),
  /** Schedule after warmup. @default "constant" */
  decay_type: z.enum(["constant", "linear", "cosine"]).default("constant"),
  /** Final LR as a fraction of the peak. @default 0 */
  lr_min: z.number().nonnegative().default(0),
});

export const evalDatasetSchema = z.strictObject({
  /** Dataset file or directory (as `dataset.path`). */
  path: z.string(),
  /** Split in that directory. @default "train" */
  split: z.string().default("train"),
});

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
