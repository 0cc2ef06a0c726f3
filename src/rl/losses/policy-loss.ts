/**
 * The shared skeleton of every built-in policy loss. A subclass supplies only its per-token
 * policy-gradient objective; this class adds, in order:
 *
 *     perToken = objective · w_IS  +  beta · KL(π ‖ π_ref)  −  entropyCoef · H(π)
 *     loss     = aggregate(perToken, mask, global counts)
 *
 * and computes the metrics as plain numbers without recording autograd history. Everything runs
 * in `torch.tidy`, so only the returned 0-d loss survives. Users who want a different shape of
 * loss need not extend this: any `{ forward(input): { loss, metrics } }` works (see
 * `examples/custom-loss.ts`).
 */
import { torch, type Tensor } from "../../torch/index.ts";
import { RLOptionError } from "../errors.ts";
import { aggregate, AGGREGATION_MODES, type AggregationMode } from "./aggregate.ts";
import { entropyFromLogits } from "./entropy.ts";
import { mismatchWeights, type ImportanceSamplingOptions } from "./importance-sampling.ts";
import { klPenalty, type KLEstimator } from "./kl.ts";
import type { Loss, LossMetrics, LossOutput, PolicyLossInput } from "./types.ts";
import { checkLossInput } from "./validate.ts";

/** Options every built-in loss accepts; each loss documents its own defaults. */
export interface PolicyLossOptions {
  /** Weight of the KL penalty to the reference model (0 = no reference needed). */
  beta?: number;
  /** KL estimator for the penalty. @default "k3" */
  klEstimator?: KLEstimator;
  /** How per-token losses become a scalar. */
  aggregation?: AggregationMode;
  /** Constant normaliser for "seq-mean-token-sum-norm". @default T of the batch */
  maxTokens?: number;
  /** Entropy bonus weight (needs `logits` or `entropy` in the input). @default 0 */
  entropyCoef?: number;
  /** Train-vs-generator importance-sampling correction (needs `generatorLogprobs`). @default off */
  importanceSampling?: ImportanceSamplingOptions | false;
}

/** What the objective of a loss sees: tensors already validated and in logprobs' dtype. */
export interface ObjectiveContext {
  /** (B, T), differentiable */
  logprobs: Tensor;
  /** (B, T), detached */
  oldLogprobs: Tensor;
  /** (B, 1) or (B, T) */
  advantages: Tensor;
  /** (B, T) 0/1 */
  mask: Tensor;
  generatorLogprobs?: Tensor;
}

/** Per-token policy-gradient loss (to minimise), the ratio it used and where it clipped, all (B, T). */
export interface PolicyObjective {
  perToken: Tensor;
  ratio: Tensor;
  clipped: Tensor;
  /** Bool, (B, T) or (B, 1): tokens whose log-ratio hit the ±LOG_RATIO_CLAMP bound (see ratio.ts). @default none */
  ratioClamped?: Tensor;
}

interface ResolvedOptions {
  beta: number;
  klEstimator: KLEstimator;
  aggregation: AggregationMode;
  maxTokens?: number;
  entropyCoef: number;
  importanceSampling: ImportanceSamplingOptions | false;
}

export function checkNumber(option: string, value: number, expected: string, ok: (v: number) => boolean): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) throw new RLOptionError(option, expected, value);
  return value;
}

export abstract class PolicyLoss implements Loss {
  readonly beta: number;
  readonly klEstimator: KLEstimator;
  readonly aggregation: AggregationMode;
  readonly maxTokens: number | undefined;
  readonly entropyCoef: number;
  readonly importanceSampling: ImportanceSamplingOptions | false;

  protected constructor(defaults: Partial<ResolvedOptions>, options: PolicyLossOptions) {
    const o = { ...defaults, ...stripUndefined(options) };
    this.beta = checkNumber("beta", o.beta ?? 0, "a finite number >= 0", (v) => v >= 0);
    this.klEstimator = o.klEstimator ?? "k3";
    if (!["k1", "k2", "k3", "k3-k2-grad"].includes(this.klEstimator)) {
      throw new RLOptionError("klEstimator", '"k1", "k2", "k3" or "k3-k2-grad"', this.klEstimator);
    }
    this.aggregation = o.aggregation ?? "token-mean";
    if (!AGGREGATION_MODES.includes(this.aggregation)) {
      throw new RLOptionError("aggregation", AGGREGATION_MODES.map((m) => `"${m}"`).join(", "), this.aggregation);
    }
    this.maxTokens = o.maxTokens === undefined ? undefined : checkNumber("maxTokens", o.maxTokens, "a number > 0", (v) => v > 0);
    this.entropyCoef = checkNumber("entropyCoef", o.entropyCoef ?? 0, "a finite number", () => true);
    this.importanceSampling = o.importanceSampling ?? false;
  }

  /** The algorithm: per-token policy loss from ratios and advantages. */
  protected abstract objective(ctx: ObjectiveContext): PolicyObjective;

  forward(input: PolicyLossInput): LossOutput {
    return torch.tidy(() => {
      const checked = checkLossInput(input);
      const { mask } = checked;
      const dtype = input.logprobs.dtype;
      // Padding is removed by SELECTION before any arithmetic: a NaN/inf/-100 in a padded slot
      // would otherwise survive `x·0` (NaN) or overflow (exp(100) in float32) and poison the loss,
      // and even a value masked at the end leaks NaN into the gradient (0·inf) through the ops
      // before the mask. After this, padded slots hold 0 (ratio 1, KL 0) and get zero gradient.
      const on = mask.gt(0);
      const clean = (t: Tensor) => torch.where(on, t, 0);
      const logprobs = clean(input.logprobs);
      const oldLogprobs = input.oldLogprobs !== undefined ? clean(input.oldLogprobs.to(dtype).detach()) : logprobs.detach();
      const generatorLogprobs = input.generatorLogprobs !== undefined ? clean(input.generatorLogprobs.to(dtype)) : undefined;
      const advantages = checked.advantages.shape[1] === 1 ? torch.where(mask.sum(-1, { keepdim: true }).gt(0), checked.advantages, 0) : clean(checked.advantages);
      const { perToken: pg, ratio, clipped, ratioClamped } = this.objective({ logprobs, oldLogprobs, advantages, mask, generatorLogprobs });

      let perToken = pg;
      let isWeights: { weights: Tensor; masked: Tensor } | undefined;
      if (this.importanceSampling) {
        if (generatorLogprobs === undefined) {
          throw new RLOptionError("generatorLogprobs", "a (B, T) tensor when importanceSampling is on (or set importanceSampling: false)", undefined);
        }
        isWeights = mismatchWeights(oldLogprobs, generatorLogprobs, this.importanceSampling);
        perToken = perToken.mul(isWeights.weights);
      }
      const refLogprobs = input.refLogprobs !== undefined ? clean(input.refLogprobs.to(dtype)) : undefined;
      if (this.beta > 0) {
        if (refLogprobs === undefined) {
          throw new RLOptionError("refLogprobs", `a (B, T) tensor when beta=${this.beta} > 0 (or set beta: 0 to train without a reference model)`, undefined);
        }
        perToken = perToken.add(klPenalty(logprobs, refLogprobs, this.klEstimator).mul(this.beta));
      }
      let entropy: Tensor | undefined;
      if (input.entropy !== undefined) entropy = clean(input.entropy.to(dtype));
      else if (input.logits !== undefined) entropy = entropyOfTrained(input.logits, on, dtype);
      if (this.entropyCoef !== 0) {
        if (entropy === undefined) throw new RLOptionError("logits", `a (B, T, V) tensor (or 'entropy') when entropyCoef=${this.entropyCoef}`, undefined);
        perToken = perToken.sub(entropy.mul(this.entropyCoef));
      }
      const loss = aggregate(perToken, mask, {
        mode: this.aggregation,
        globalTokenCount: input.globalTokenCount,
        globalSequenceCount: input.globalSequenceCount,
        maxTokens: this.maxTokens,
      });
      const metrics = torch.noGrad(() =>
        computeMetrics({ loss, logprobs, mask, advantages, ratio, clipped, ratioClamped, refLogprobs, generatorLogprobs, entropy, isWeights }),
      );
      return { loss, metrics };
    });
  }
}

/**
 * Entropy from logits with padded slots zeroed. A non-finite padded logit would leak NaN into the
 * logits' gradient, but copying the (B, T, V) logits to select them costs a lot of memory: so the
 * copy is made only when a padded slot's entropy actually comes out non-finite.
 */
function entropyOfTrained(logits: Tensor, on: Tensor, dtype: Tensor["dtype"]): Tensor {
  const entropy = entropyFromLogits(logits).to(dtype);
  const poisoned = Boolean(torch.tidy(() => entropy.detach().isfinite().logicalOr(on).logicalNot().any().item()));
  if (!poisoned) return torch.where(on, entropy, 0);
  return torch.where(on, entropyFromLogits(torch.where(on.unsqueeze(-1), logits, 0)).to(dtype), 0);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface MetricInputs {
  loss: Tensor;
  logprobs: Tensor;
  mask: Tensor;
  advantages: Tensor;
  ratio: Tensor;
  clipped: Tensor;
  ratioClamped?: Tensor;
  refLogprobs?: Tensor;
  generatorLogprobs?: Tensor;
  entropy?: Tensor;
  isWeights?: { weights: Tensor; masked: Tensor };
}

/** Mean over trained tokens (0 when there are none); padded slots are dropped by selection, so they may hold NaN/inf. */
export function maskedMean(x: Tensor, mask: Tensor): number {
  return torch.tidy(() => {
    const n = mask.sum().item();
    return n > 0 ? torch.where(mask.gt(0), x.mul(mask), 0).sum().item() / n : 0;
  });
}

/** Plain-number metrics shared by every built-in loss; usable from custom losses too. */
export function computeMetrics(m: MetricInputs): LossMetrics {
  return torch.tidy(() => {
    const { mask } = m;
    const tokens = mask.sum().item();
    const lp = m.logprobs.detach();
    const ratio = m.ratio.detach().expand(mask.shape);
    const on = mask.gt(0);
    const ratioClamped = m.ratioClamped !== undefined ? m.ratioClamped.to(mask.dtype).expand(mask.shape) : undefined;
    const metrics: LossMetrics = {
      loss: m.loss.item(),
      ratioMean: tokens > 0 ? maskedMean(ratio, mask) : 1,
      ratioMin: tokens > 0 ? ratio.maskedFill(on.logicalNot(), Infinity).amin().item() : 1,
      ratioMax: tokens > 0 ? ratio.maskedFill(on.logicalNot(), -Infinity).amax().item() : 1,
      clipFraction: maskedMean(m.clipped.to(mask.dtype).expand(mask.shape), mask),
      ratioClampedFraction: ratioClamped !== undefined ? maskedMean(ratioClamped, mask) : 0,
      ...advantageStats(m.advantages.detach(), mask),
      tokens,
    };
    // The KL metrics in float64: k3's exp(ref − logπ) overflows float32 past a gap of ~88 nats.
    const lp64 = lp.to("float64");
    if (m.refLogprobs !== undefined) metrics.klRef = maskedMean(klPenalty(lp64, m.refLogprobs.to("float64"), "k3"), mask);
    if (m.generatorLogprobs !== undefined) metrics.klGenerator = maskedMean(klPenalty(lp64, m.generatorLogprobs.to("float64"), "k3"), mask);
    if (m.entropy !== undefined) metrics.entropy = maskedMean(m.entropy.detach(), mask);
    if (m.isWeights !== undefined) {
      metrics.isWeightMean = maskedMean(m.isWeights.weights, mask);
      metrics.isMaskedFraction = maskedMean(m.isWeights.masked, mask);
    }
    return metrics;
  });
}

function advantageStats(adv: Tensor, mask: Tensor): { advantageMean: number; advantageStd: number } {
  const values = adv.shape[1] === 1 && mask.shape[1] !== 1 ? adv.flatten().toFlatArray() : adv.maskedSelect(mask.gt(0)).toFlatArray();
  const n = values.length;
  if (n === 0) return { advantageMean: 0, advantageStd: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { advantageMean: mean, advantageStd: std };
}
