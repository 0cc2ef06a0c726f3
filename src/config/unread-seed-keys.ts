/**
 * The seed's GRPO layout (torchforge's `policy`, `trainer`, `ref_model`, ... sections) validates
 * so its configs load, but the app reads the primary layout. A value set only in the seed's
 * layout would be silently ignored; this names each one (and the key to use instead), so the
 * app can say so at start-up.
 */
import { isPlainObject, type ConfigObject } from "./paths.ts";

/** Seed paths, most specific first, with the primary key that does the job where there is one. */
const GRPO_SEED_KEYS: readonly { path: string; use?: string }[] = [
  { path: "group_size", use: "grpo.n_samples" },
  { path: "local_batch_size", use: "training.batch_size" },
  { path: "max_req_tokens", use: "grpo.max_prompt_tokens" },
  { path: "max_res_tokens", use: "grpo.max_new_tokens" },
  { path: "off_by_n", use: "grpo.max_policy_age" },
  { path: "rollout_threads", use: "grpo.rollout_workers" },
  { path: "policy.sampling_params.n", use: "grpo.n_samples" },
  { path: "policy.sampling_params.max_tokens", use: "grpo.max_new_tokens" },
  { path: "policy.sampling_params.temperature", use: "grpo.temperature" },
  { path: "policy.sampling_params.top_p", use: "grpo.top_p" },
  { path: "policy.sampling_params.top_k", use: "grpo.top_k" },
  { path: "policy.sampling_params.min_p", use: "grpo.min_p" },
  { path: "policy" },
  { path: "trainer.optimizer", use: "optimizer" },
  { path: "trainer.lr_scheduler", use: "lr_scheduler" },
  { path: "trainer.training.steps", use: "training.steps" },
  { path: "trainer.training.max_norm", use: "training.max_norm" },
  { path: "trainer.training.seq_len", use: "training.seq_len" },
  { path: "trainer.training.dtype", use: "training.dtype" },
  { path: "trainer.training.local_batch_size", use: "training.batch_size" },
  { path: "trainer.checkpoint", use: "checkpoint" },
  { path: "trainer.model", use: "model" },
  // Checked (degrees above 1 are refused by name), so never silently ignored.
  { path: "trainer.parallelism", use: "" },
  { path: "trainer" },
  { path: "ref_model.parallelism", use: "" },
  { path: "ref_model", use: "services.ref_model" },
  { path: "replay_buffer" },
  { path: "actors", use: "services" },
  { path: "compile" },
  { path: "activation_checkpoint", use: "training.activation_checkpointing" },
  { path: "comm" },
];

function leaves(value: unknown, prefix: string, out: string[]): string[] {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined && value !== null) out.push(prefix);
  return out;
}

/**
 * One line per seed key group that `data` (overrides applied, before defaults) sets, e.g.
 * `trainer.optimizer.lr, trainer.optimizer.name (use optimizer.*)`; empty when there is none.
 */
export function unreadGrpoSeedKeys(data: ConfigObject): string[] {
  const byRule = new Map<(typeof GRPO_SEED_KEYS)[number], string[]>();
  for (const leaf of leaves(data, "", [])) {
    const rule = GRPO_SEED_KEYS.find((r) => leaf === r.path || leaf.startsWith(`${r.path}.`));
    if (!rule || rule.use === "") continue;
    byRule.set(rule, [...(byRule.get(rule) ?? []), leaf]);
  }
  return [...byRule].map(([rule, keys]) => {
    const hint = rule.use === undefined ? "no equivalent here" : keys.length === 1 && keys[0] === rule.path ? `use ${rule.use}` : `use ${rule.use}.*`;
    return `${keys.join(", ")} (${hint})`;
  });
}
