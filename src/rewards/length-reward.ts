/**
 * Length-based rewards. They take lengths as numbers, never a tokenizer: token counts come from
 * the generator through `RewardContext.responseTokens` (or a `countTokens` option), so this module
 * stays free of model dependencies.
 */
import { RewardInputError, RewardOptionError } from "./errors.ts";
import type { Reward, RewardContext } from "./reward.ts";
import { checkNumberOption } from "./validate.ts";

/** How a length reward measures the response. */
export type LengthUnit = "tokens" | "characters";

export interface DapoOverlongPenaltyOptions {
  /** Length of the response in tokens. */
  responseTokens: number;
  /** Maximum response length L_max (generation stops there). */
  maxTokens: number;
  /** Soft-penalty interval L_cache: the last this-many tokens before `maxTokens`. */
  overlongBuffer: number;
  /** Scale of the penalty; -penaltyFactor at or beyond `maxTokens`. @default 1 */
  penaltyFactor?: number;
}

/**
 * DAPO's soft overlong punishment (Yu et al. 2025, eq. 13): 0 while
 * `length <= maxTokens - overlongBuffer`, then a linear ramp down to -1 at `maxTokens`, and -1
 * beyond; multiplied by `penaltyFactor`. Added to the task reward, it is ≤ 0.
 */
export function dapoOverlongPenalty(options: DapoOverlongPenaltyOptions): number {
  const length = checkNumberOption("responseTokens", options.responseTokens, { min: 0 });
  const maxTokens = checkNumberOption("maxTokens", options.maxTokens, { min: 0, exclusiveMin: true });
  const buffer = checkNumberOption("overlongBuffer", options.overlongBuffer, { min: 0, max: maxTokens });
  const factor = checkNumberOption("penaltyFactor", options.penaltyFactor ?? 1, { min: 0 });
  const expected = maxTokens - buffer;
  if (length <= expected) return 0;
  if (length > maxTokens || buffer === 0) return -factor;
  return ((expected - length) / buffer) * factor;
}

export interface OverlongPenaltyRewardOptions {
  /** Maximum response length in tokens (the generator's `maxTokens`). */
  maxTokens: number;
  /** Soft-penalty interval before `maxTokens`. */
  overlongBuffer: number;
  /** @default 1 */
  penaltyFactor?: number;
  /** Fallback token counter when the context has no `responseTokens` (e.g. a tokenizer's encode length). */
  countTokens?: (response: string) => number;
}

/** `dapoOverlongPenalty` as a reward; reads the token count from `RewardContext.responseTokens`. */
export class OverlongPenaltyReward implements Reward {
  readonly name = "OverlongPenaltyReward";
  readonly maxTokens: number;
  readonly overlongBuffer: number;
  readonly penaltyFactor: number;
  readonly #countTokens?: (response: string) => number;

  constructor(options: OverlongPenaltyRewardOptions) {
    this.maxTokens = checkNumberOption("maxTokens", options.maxTokens, { min: 0, exclusiveMin: true });
    this.overlongBuffer = checkNumberOption("overlongBuffer", options.overlongBuffer, { min: 0, max: this.maxTokens });
    this.penaltyFactor = checkNumberOption("penaltyFactor", options.penaltyFactor ?? 1, { min: 0 });
    this.#countTokens = options.countTokens;
  }

  evaluate(_prompt: string, response: string, _target: string, context?: RewardContext): number {
    const responseTokens = context?.responseTokens ?? this.#countTokens?.(response);
    if (responseTokens === undefined) {
      throw new RewardInputError(
        "responseTokens",
        this.name,
        "pass { responseTokens } in the reward context or a countTokens option",
      );
    }
    return dapoOverlongPenalty({
      responseTokens,
      maxTokens: this.maxTokens,
      overlongBuffer: this.overlongBuffer,
      penaltyFactor: this.penaltyFactor,
    });
  }
}

export interface LengthRewardOptions {
  /** Shortest length that earns the full reward. @default 0 */
  minLength?: number;
  /** Longest length that earns the full reward. @default Infinity */
  maxLength?: number;
  /** Distance outside [minLength, maxLength] over which the reward falls linearly to 0; 0 makes it a step. @default 0 */
  slack?: number;
  /** What a length counts. Tokens come from `RewardContext.responseTokens`. @default "characters" */
  unit?: LengthUnit;
}

/** 1 inside [minLength, maxLength], falling linearly to 0 over `slack` outside it. */
export class LengthReward implements Reward {
  readonly name = "LengthReward";
  readonly minLength: number;
  readonly maxLength: number;
  readonly slack: number;
  readonly unit: LengthUnit;

  constructor(options: LengthRewardOptions = {}) {
    this.minLength = checkNumberOption("minLength", options.minLength ?? 0, { min: 0 });
    const maxLength = options.maxLength ?? Infinity;
    this.maxLength = maxLength === Infinity ? Infinity : checkNumberOption("maxLength", maxLength, { min: this.minLength });
    this.slack = checkNumberOption("slack", options.slack ?? 0, { min: 0 });
    const unit = options.unit ?? "characters";
    if (unit !== "characters" && unit !== "tokens") throw new RewardOptionError("unit", '"characters" or "tokens"', unit);
    this.unit = unit;
  }

  evaluate(_prompt: string, response: string, _target: string, context?: RewardContext): number {
    let length: number;
    if (this.unit === "characters") length = [...response].length;
    else if (context?.responseTokens !== undefined) length = context.responseTokens;
    else throw new RewardInputError("responseTokens", this.name, "unit is \"tokens\": pass { responseTokens } in the reward context");
    const outside = length < this.minLength ? this.minLength - length : length > this.maxLength ? length - this.maxLength : 0;
    if (outside === 0) return 1;
    if (this.slack === 0) return 0;
    return Math.max(0, 1 - outside / this.slack);
  }
}
