/**
 * Per-step metrics: combining micro-batch loss diagnostics into one step's values, and naming
 * them the way torchforge does (`loss/…`, `trainer/…`, `main_perf/…`) for `recordMetric`.
 */

/** What `Trainer.trainStep` returns. */
export interface TrainStepResult {
  /** Optimizer steps taken so far (unchanged when this step was skipped). */
  step: number;
  /** True when the loss or gradient norm was NaN/inf: no optimizer step was taken. */
  skipped: boolean;
  /** Why the step was skipped. */
  skipReason?: string;
  /** Sum of the micro-batch losses: the full-batch loss. */
  loss: number;
  /** Gradient norm before clipping (NaN when the step was skipped before backward finished). */
  gradNorm: number;
  /** Learning rate this step used. */
  lr: number;
  /** Trained tokens in the step (all micro-batches). */
  tokens: number;
  sequences: number;
  microBatches: number;
  /** Wall-clock seconds of the step. */
  timeS: number;
  tokensPerS: number;
  /** Micro-batch loss metrics combined: `loss`/`tokens` summed, `*Min`/`*Max` min/max, the rest token-weighted means. */
  lossMetrics: Record<string, number>;
  /** The float16 loss scale this step used (only with loss scaling). */
  lossScale?: number;
}

/** Combines plain-number metrics of several micro-batches. */
export function combineMicroBatchMetrics(list: readonly Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  const weights = new Map<string, number>();
  for (const m of list) {
    const w = typeof m.tokens === "number" && m.tokens > 0 ? m.tokens : 1;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "number") continue;
      if (k === "loss" || k === "tokens") out[k] = (out[k] ?? 0) + v;
      else if (/(Min|_min)$/.test(k)) out[k] = Math.min(out[k] ?? Infinity, v);
      else if (/(Max|_max)$/.test(k)) out[k] = Math.max(out[k] ?? -Infinity, v);
      else {
        out[k] = (out[k] ?? 0) + v * w;
        weights.set(k, (weights.get(k) ?? 0) + w);
      }
    }
  }
  for (const [k, w] of weights) out[k] = out[k]! / w;
  return out;
}

const snake = (k: string): string => k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/**
 * A step's values under torchforge-style names, ready for `recordMetric(key, value)`:
 * `loss/value`, `loss/<metric>` (e.g. `loss/clip_fraction`, `loss/kl_ref`, `loss/entropy`),
 * `trainer/grad_norm`, `trainer/lr`, `trainer/tokens`, `trainer/tokens_per_s`,
 * `trainer/skipped_steps`, `main_perf/train_step_s`. Non-finite values are left out.
 */
export function trainStepMetrics(result: TrainStepResult): Record<string, number> {
  const out: Record<string, number> = {
    "loss/value": result.loss,
    "trainer/grad_norm": result.gradNorm,
    "trainer/lr": result.lr,
    "trainer/tokens": result.tokens,
    "trainer/tokens_per_s": result.tokensPerS,
    "trainer/skipped_steps": result.skipped ? 1 : 0,
    "main_perf/train_step_s": result.timeS,
  };
  if (result.lossScale !== undefined) out["trainer/loss_scale"] = result.lossScale;
  for (const [k, v] of Object.entries(result.lossMetrics)) {
    if (k === "loss" || k === "tokens") continue;
    out[`loss/${snake(k)}`] = v;
  }
  for (const [k, v] of Object.entries(out)) if (!Number.isFinite(v)) delete out[k];
  return out;
}
