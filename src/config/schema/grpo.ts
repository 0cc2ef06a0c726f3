/**
 * GRPO app config (`apps/grpo/*.yaml`). The primary layout is the one issue 6 describes (`model`,
 * `dataset`, `training`, `grpo`, `rewards`, `services`, ...); the seed's torchtitan-style sections
 * (`policy`, `trainer`, `ref_model`, `replay_buffer`, `actors` and top-level globals such as
 * `group_size`) are accepted too so its configs validate, but the app reads the primary layout.
 */
import { z } from "zod";
import {
  activationCheckpointSchema,
  checkpointSchema,
  commSchema,
  compileSchema,
  datasetSchema,
  dtypeSchema,
  evalSchema,
  loraSchema,
  lrSchedulerSchema,
  metricLoggingSchema,
  modelObjectSchema,
  modelSchema,
  optimizerSchema,
  parallelismSchema,
  checkParallelism,
  clusterSchema,
  serviceSchema,
} from "./common.ts";

const positiveInt = () => z.number().int().positive();

export const grpoTrainingSchema = z.strictObject({
  /** Episodes (completions) per optimizer step, per data-parallel rank (global batch = batch_size × services.trainer.procs). @default 16 */
  batch_size: positiveInt().default(16),
  /** Peak learning rate (after warmup). @default 1e-5 */
  learning_rate: z.number().positive().default(1e-5),
  /** Max prompt + response tokens per sequence in a training batch. @default 2048 */
  seq_len: positiveInt().default(2048),
  /** Trainer compute dtype. @default "float32" */
  dtype: dtypeSchema.default("float32"),
  /** Micro-batches per optimizer step. @default 1 */
  gradient_accumulation_steps: positiveInt().default(1),
  /** Push weights to generators every N train steps. @default 1 */
  sync_interval: positiveInt().default(1),
  /** Entropy bonus coefficient (0: off). @default 0 */
  entropy_coef: z.number().default(0),
  /** Total optimizer steps. @default 1000 */
  steps: positiveInt().default(1000),
  /** Gradient clipping norm (null: off). @default 1.0 */
  max_norm: z.number().positive().nullable().default(1.0),
  /** Consecutive NaN/inf losses tolerated (each skipped with a warning) before aborting. @default 3 */
  max_bad_steps: positiveInt().default(3),
  /** Seed for sampling, init and data order. @default 0 */
  seed: z.number().int().default(0),
  /** Recompute each decoder block in backward instead of storing its activations (less memory, ~1/3 more compute). @default false */
  activation_checkpointing: z.boolean().default(false),
});

export const grpoAlgorithmSchema = z.strictObject({
  /** Completions per prompt (group size). @default 8 */
  n_samples: positiveInt().default(8),
  /** Lower clip: ratio ≥ 1 - clip_low. @default 0.2 */
  clip_low: z.number().nonnegative().default(0.2),
  /** Upper clip: ratio ≤ 1 + clip_high (DAPO uses 0.28). @default 0.2 */
  clip_high: z.number().nonnegative().default(0.2),
  /** KL coefficient; > 0 needs a reference model. @default 0.1 */
  beta: z.number().nonnegative().default(0.1),
  /** KL estimator. @default "k3" */
  kl_estimator: z.enum(["k1", "k2", "k3"]).default("k3"),
  /** Sampling temperature of the rollouts (the loss uses the same). @default 1.0 */
  temperature: z.number().positive().default(1.0),
  /** Nucleus sampling: keep the smallest token set with this much probability. @default 1.0 */
  top_p: z.number().gt(0).lte(1).default(1.0),
  /** 0 disables. @default 0 */
  top_k: z.number().int().nonnegative().default(0),
  /** 0 disables. @default 0 */
  min_p: z.number().min(0).max(1).default(0),
  /** Most tokens sampled per completion. @default 512 */
  max_new_tokens: positiveInt().default(512),
  /** Longer prompts are an error. @default 512 */
  max_prompt_tokens: positiveInt().default(512),
  /** Extra stop strings (EOS always stops). @default [] */
  stop: z.array(z.string()).default([]),
  /** Loss by name (grpo, dapo, gspo, cispo, sapo, reinforce, simple_grpo) or `path/to/module.ts#ExportName`. @default "grpo" */
  loss: z.string().min(1).default("grpo"),
  /** Token aggregation; unset: the loss's own default. */
  loss_agg_mode: z.enum(["token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm"]).optional(),
  /** Drop groups whose rewards are all equal (zero advantage). @default true */
  filter_zero_variance: z.boolean().default(true),
  /** Drop groups containing a completion cut at max_new_tokens. @default false */
  filter_truncated: z.boolean().default(false),
  /** Divide advantages by the group's std. @default true */
  scale_advantages: z.boolean().default(true),
  /** How many policy versions old a trained episode may be (the seed's off_by_n). @default 1 */
  max_policy_age: z.number().int().nonnegative().default(1),
  /**
   * Separate placement: generate the next batches while the trainer steps (true), or between steps
   * as colocated placement does (false: the generators idle during a train step, but a run is
   * reproducible and its resume exact, whichever replica serves a rollout). @default true
   */
  overlap_rollouts: z.boolean().default(true),
  /** Concurrent rollout loops. @default 1 */
  rollout_workers: positiveInt().default(1),
  /**
   * Seconds the trainer waits for a fresh episode (separate placement) before the run fails with an
   * error naming the generator replicas' states: a dead or stuck generator never hangs the run. @default 600
   */
  progress_timeout_s: z.number().positive().default(600),
});

/** A reward by built-in name (`math`, `thinking`, `format`, `length`) or user module (`./my-reward.ts#MyReward`). */
export const rewardSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({
    /** Built-in reward name or `./module.ts#Export`. */
    name: z.string().min(1),
    /** Factor of this reward in the summed reward. @default 1 */
    weight: z.number().default(1),
    /** Options passed to the reward's constructor. @default {} */
    options: z.record(z.string(), z.unknown()).default({}),
  }),
]);

export const grpoServicesSchema = z.strictObject({
  generator: serviceSchema
    .extend({
      /**
       * Pack fp32 linear weights for MKL's packed GEMM at each generate call (~1.3× faster
       * batched decoding on PyPI x86 builds, one more copy of the linear weights in RAM; no
       * effect elsewhere). @default false
       */
      pack_weights: z.boolean().default(false),
      /**
       * Restarts each generator replica may have over the run (separate placement); one that dies
       * after that stays down, and when none is left the run fails. null: no limit. @default null
       */
      restart_limit: z.number().int().nonnegative().nullable().default(null),
    })
    .prefault({}),
  /** `procs`: data-parallel trainer ranks (colocated placement: each rank runs its own generator). */
  trainer: serviceSchema.prefault({}),
  /** Absent: no reference model (needs `grpo.beta: 0`). */
  ref_model: serviceSchema
    .extend({
      /**
       * Score reference logprobs in a service of `num_replicas` processes (on `hosts` when set)
       * instead of in the controller; same numbers either way. @default false, true when `hosts` is set
       */
      separate: z.boolean().optional(),
    })
    .optional(),
  /** Absent: rewards run in the controller. */
  reward: serviceSchema.optional(),
  /** Seed names for `generator` and `reward`. */
  policy: serviceSchema.optional(),
  reward_actor: serviceSchema.optional(),
});

const seedTrainerTrainingSchema = z.strictObject({
  local_batch_size: positiveInt().optional(),
  seq_len: positiveInt().optional(),
  max_norm: z.number().positive().optional(),
  steps: positiveInt().optional(),
  dtype: dtypeSchema.optional(),
  gc_freq: positiveInt().optional(),
});

/** The seed's `policy` section (vLLM engine args + sampling params). */
export const seedPolicySchema = z.strictObject({
  /** Passed through to a remote engine (vLLM); not validated here. */
  engine_args: z.record(z.string(), z.unknown()).optional(),
  sampling_params: z
    .strictObject({
      n: positiveInt().optional(),
      max_tokens: positiveInt().optional(),
      temperature: z.number().nonnegative().optional(),
      top_p: z.number().optional(),
      top_k: z.number().int().optional(),
      min_p: z.number().optional(),
      seed: z.number().int().optional(),
      stop: z.array(z.string()).optional(),
    })
    .optional(),
});

export const seedTrainerSchema = z.strictObject({
  use_dcp: z.boolean().optional(),
  model: modelObjectSchema.optional(),
  optimizer: optimizerSchema.optional(),
  lr_scheduler: lrSchedulerSchema.optional(),
  training: seedTrainerTrainingSchema.optional(),
  compile: compileSchema.optional(),
  parallelism: parallelismSchema.optional(),
  checkpoint: checkpointSchema.optional(),
  activation_checkpoint: activationCheckpointSchema.optional(),
  comm: commSchema.optional(),
});

export const seedRefModelSchema = z.strictObject({
  model: modelObjectSchema.optional(),
  training: seedTrainerTrainingSchema.optional(),
  compile: compileSchema.optional(),
  parallelism: parallelismSchema.optional(),
  checkpoint: checkpointSchema.optional(),
});

export const replayBufferSchema = z.strictObject({
  batch_size: positiveInt().optional(),
  max_policy_age: z.number().int().nonnegative().optional(),
  dp_size: positiveInt().optional(),
  /** Max episodes held; oldest evicted first. @default 10000 */
  capacity: positiveInt().default(10000),
});

/**
 * Multi-turn episodes: a built-in environment or a user module, driven by the library, or an
 * agent function (`async (client, task) => reward`) that talks to the policy through an
 * OpenAI-compatible endpoint. Without this section the app trains single-turn prompt → answer.
 */
export const environmentSchema = z
  .strictObject({
    /** Built-in environment (`calculator-arithmetic`) or `path/to/module.ts#export` (a factory or class). */
    name: z.string().min(1).optional(),
    /** `path/to/agent.ts#export`: an agent function `(client, task) => reward` using the `openai` client. */
    agent: z.string().min(1).optional(),
    /** Passed to the environment factory / class. @default {} */
    options: z.record(z.string(), z.unknown()).default({}),
    /** Most assistant turns per episode. @default 4 */
    max_turns: positiveInt().default(4),
    /** Most tokens sampled per assistant turn. @default 128 */
    max_tokens_per_turn: positiveInt().default(128),
    /** Most tokens after the first prompt (sampled + environment); null: only the context length. @default null */
    max_response_tokens: positiveInt().nullable().default(null),
    /** Compare every turn's prompt with a full re-render and count divergences. @default true */
    check_prefix: z.boolean().default(true),
    /** Qwen3-style thinking switch for the chat template; null: the template's default. @default null */
    enable_thinking: z.boolean().nullable().default(null),
  })
  .refine((e) => (e.name === undefined) !== (e.agent === undefined), {
    message: "set exactly one of environment.name (an environment) or environment.agent (an agent function)",
  });

export const grpoConfigSchema = z.strictObject({
  /** Where runs write the resolved config, metrics and dashboard. @default "./outputs" */
  output_dir: z.string().default("./outputs"),
  /** `colocated`: every service in the controller process (generator and trainer share weights); `separate`: processes per `services`. @default "colocated" */
  placement: z.enum(["colocated", "separate"]).default("colocated"),
  /** The policy model (also the reference model's weights). */
  model: modelSchema,
  /** Prompts and targets. */
  dataset: datasetSchema,
  /** Optimizer steps, batch and trainer numerics. */
  training: grpoTrainingSchema.prefault({}),
  /** The algorithm: sampling, loss, clipping, KL, group filtering. */
  grpo: grpoAlgorithmSchema.prefault({}),
  /** Reward functions, summed with their weights: names, `{ name, weight, options }` or module paths. @default ["math"] */
  rewards: z.array(rewardSpecSchema).default(["math"]),
  /** Where each service runs (with `placement: separate`). */
  services: grpoServicesSchema.prefault({}),
  /** Multi-host placement (`services.*.hosts`): the NATS server the host agents joined. Absent: this host only. */
  cluster: clusterSchema.optional(),
  /** Multi-turn agentic episodes; absent: single-turn prompts from `dataset`. */
  environment: environmentSchema.optional(),
  /** LoRA adapters over a frozen base; absent: full fine-tuning. */
  lora: loraSchema.optional(),
  optimizer: optimizerSchema.prefault({}),
  /** Learning-rate warmup and decay. */
  lr_scheduler: lrSchedulerSchema.prefault({}),
  parallelism: parallelismSchema.prefault({}),
  checkpoint: checkpointSchema.prefault({}),
  /** Seed's metric backends; accepted, not read: the app always writes metrics.jsonl, TensorBoard events and dashboard.html under output_dir. @default { console: {} } */
  metric_logging: metricLoggingSchema.prefault({ console: {} }),
  /** Held-out evaluation. */
  eval: evalSchema.prefault({}),
  replay_buffer: replayBufferSchema.prefault({}),
  // Seed globals, mostly interpolation sources (`n: ${group_size}`).
  group_size: positiveInt().optional(),
  local_batch_size: positiveInt().optional(),
  max_req_tokens: positiveInt().optional(),
  max_res_tokens: positiveInt().optional(),
  off_by_n: z.number().int().nonnegative().optional(),
  rollout_threads: positiveInt().optional(),
  // Seed sections.
  policy: seedPolicySchema.optional(),
  trainer: seedTrainerSchema.optional(),
  ref_model: seedRefModelSchema.optional(),
  actors: z.record(z.string(), serviceSchema).optional(),
  compile: compileSchema.optional(),
  activation_checkpoint: activationCheckpointSchema.optional(),
  comm: commSchema.optional(),
}).superRefine((c, ctx) => {
  // Checks that span several options: reject them before anything starts.
  if (c.grpo.beta > 0 && !c.services.ref_model) {
    ctx.addIssue({ code: "custom", path: ["grpo", "beta"], message: "grpo.beta > 0 needs a reference model: add services.ref_model or set grpo.beta: 0" });
  }
  // Data-parallel GRPO is SPMD: every trainer rank drives its own colocated generator. Separate
  // generator services would need one shared generator fleet feeding N ranks (not built yet).
  if (c.services.trainer.procs > 1 && c.placement === "separate") {
    ctx.addIssue({ code: "custom", path: ["services", "trainer", "procs"], message: `${c.services.trainer.procs} with placement: separate is not implemented; data-parallel GRPO runs each rank with its own colocated generator: set placement: colocated, or services.trainer.procs: 1` });
  }
  for (const role of ["generator", "ref_model"] as const) {
    const procs = c.services[role]?.procs ?? 1;
    if (procs > 1) ctx.addIssue({ code: "custom", path: ["services", role, "procs"], message: `${procs}: more than one process per ${role} replica (tensor-parallel inference) is not implemented; scale with services.${role}.num_replicas` });
  }
  checkHosts(c, ctx);
  checkParallelism(c.parallelism, c.services.trainer.procs, ["parallelism"], "services.trainer.procs", ctx);
  checkParallelism(c.trainer?.parallelism, c.services.trainer.procs, ["trainer", "parallelism"], "services.trainer.procs", ctx, { zeroStageRead: false });
  checkParallelism(c.ref_model?.parallelism, 1, ["ref_model", "parallelism"], "services.ref_model.num_replicas", ctx, { zeroStageRead: false });
  const { warmup_steps: warmup, decay_type: decay } = c.lr_scheduler;
  if (decay !== "constant" && c.training.steps <= warmup) {
    ctx.addIssue({ code: "custom", path: ["lr_scheduler", "warmup_steps"], message: `lr_scheduler.decay_type '${decay}' needs training.steps (${c.training.steps}) > lr_scheduler.warmup_steps (${warmup})` });
  }
});

/** `services.*.hosts` needs a cluster, a separate generator, and a role that can run elsewhere. */
function checkHosts(
  c: { placement: string; cluster?: unknown; services: z.output<typeof grpoServicesSchema> },
  ctx: z.RefinementCtx,
): void {
  const s = c.services;
  for (const role of ["trainer", "reward", "policy", "reward_actor"] as const) {
    if (s[role]?.hosts.length) {
      ctx.addIssue({ code: "custom", path: ["services", role, "hosts"], message: `placing ${role} on other hosts is not implemented (it runs in the controller); only services.generator.hosts and services.ref_model.hosts are` });
    }
  }
  for (const role of ["generator", "ref_model"] as const) {
    if (!s[role]?.hosts.length) continue;
    if (!c.cluster) {
      ctx.addIssue({ code: "custom", path: ["services", role, "hosts"], message: `[${s[role]!.hosts.join(", ")}] needs a top-level cluster section naming the NATS server the host agents joined (cluster: { nats: nats://HOST:4222 })` });
    }
  }
  if (s.generator.hosts.length && c.placement !== "separate") {
    ctx.addIssue({ code: "custom", path: ["services", "generator", "hosts"], message: "needs placement: separate (a colocated generator runs in the controller and shares the trainer's weights)" });
  }
  if (s.ref_model?.separate === false && s.ref_model.hosts.length) {
    ctx.addIssue({ code: "custom", path: ["services", "ref_model", "separate"], message: "false, but services.ref_model.hosts names hosts to run it on; drop one of them" });
  }
}
