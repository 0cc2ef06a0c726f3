/**
 * The built-in synthetic task: short addition/subtraction problems ("What is 23+58?") small
 * enough for a tiny character-level model to learn on a CPU. The whole problem space of a level
 * is enumerated, shuffled with the seed and cut into disjoint train and test splits, so held-out
 * accuracy measures generalisation, not memorisation. Targets are numbers; answers are written
 * `<think>…</think><answer>N</answer>` so `MathReward` and `ThinkingReward` score them.
 *
 * Difficulty levels, easiest first (sizes of the problem space):
 * - `add-1d`     a+b, a,b in 0…9                      (100)
 * - `addsub-1d`  a+b and a-b (a ≥ b), a,b in 0…9      (155)
 * - `add-small`  a+b, a,b in 0…19                     (400)
 * - `add-2d`     a+b, a,b in 0…99                     (10,000)
 * - `addsub-2d`  a+b and a-b (a ≥ b), a,b in 0…99     (15,050)
 * 2-digit levels are the ones meant for "SFT gets 20–60%, RL improves it"; 1-digit ones are for
 * smoke tests; `add-small` is for pretrained chat models that add small numbers but must learn
 * the answer format (apps/grpo/smollm2_arith.yaml). Carries and borrows are what a small model gets wrong.
 */
import { DataOptionError } from "./errors.ts";
import type { PromptExample } from "./example.ts";
import type { PromptResponseRecord } from "./sft-records.ts";
import { checkSeed, SeededRandom } from "./random.ts";

export type ArithmeticOperation = "+" | "-";
export type ArithmeticLevel = "add-1d" | "addsub-1d" | "add-small" | "add-2d" | "addsub-2d";
export type ArithmeticSplit = "train" | "test";

/** How `formatArithmeticSolution` writes the reasoning. */
export type SolutionStyle = "short" | "steps";

export interface ArithmeticProblem {
  a: number;
  b: number;
  op: ArithmeticOperation;
  /** The correct result. */
  answer: number;
}

export interface ArithmeticExample extends PromptExample {
  problem: ArithmeticProblem;
  /** The correct result (same as `problem.answer`; `target` is its text). */
  answer: number;
}

const LEVELS: Record<ArithmeticLevel, { maxOperand: number; operations: ArithmeticOperation[] }> = {
  "add-1d": { maxOperand: 9, operations: ["+"] },
  "addsub-1d": { maxOperand: 9, operations: ["+", "-"] },
  "add-small": { maxOperand: 19, operations: ["+"] },
  "add-2d": { maxOperand: 99, operations: ["+"] },
  "addsub-2d": { maxOperand: 99, operations: ["+", "-"] },
};

/** Largest problem space we enumerate; beyond it the split would cost too much memory. */
const MAX_SPACE = 250_000;

export interface ArithmeticTaskOptions {
  /** Preset range and operations. @default "add-2d" */
  level?: ArithmeticLevel;
  /** Overrides the level's smallest operand. @default 0 */
  minOperand?: number;
  /** Overrides the level's largest operand (≤ 499). */
  maxOperand?: number;
  /** Overrides the level's operations. */
  operations?: ArithmeticOperation[];
  /** Seed for the train/test split and the order within each split. @default 0 */
  seed?: number;
  /** Fraction of the problem space held out for test (ignored when `testSize` is set). @default 0.1 */
  testFraction?: number;
  /** Exact number of test problems. */
  testSize?: number;
  /** Builds the prompt text. @default `What is ${a}${op}${b}?` */
  formatPrompt?: (problem: ArithmeticProblem) => string;
}

/** `What is 23+58?`: short on purpose, every character costs a tiny model. */
export function defaultArithmeticPrompt(problem: ArithmeticProblem): string {
  return `What is ${problem.a}${problem.op}${problem.b}?`;
}

export class ArithmeticTask {
  readonly level: ArithmeticLevel;
  readonly minOperand: number;
  readonly maxOperand: number;
  readonly operations: readonly ArithmeticOperation[];
  readonly seed: number;
  readonly train: readonly ArithmeticExample[];
  readonly test: readonly ArithmeticExample[];

  constructor(options: ArithmeticTaskOptions = {}) {
    const level = options.level ?? "add-2d";
    if (!(level in LEVELS)) throw new DataOptionError("level", `one of ${Object.keys(LEVELS).join(", ")}`, level);
    this.level = level;
    this.minOperand = options.minOperand ?? 0;
    this.maxOperand = options.maxOperand ?? LEVELS[level].maxOperand;
    if (!Number.isSafeInteger(this.minOperand) || this.minOperand < 0) {
      throw new DataOptionError("minOperand", "a non-negative integer", this.minOperand);
    }
    if (!Number.isSafeInteger(this.maxOperand) || this.maxOperand < this.minOperand || this.maxOperand > 499) {
      throw new DataOptionError("maxOperand", `an integer in [minOperand=${this.minOperand}, 499]`, this.maxOperand);
    }
    const operations = options.operations ?? LEVELS[level].operations;
    if (!Array.isArray(operations) || operations.length === 0 || operations.some((op) => op !== "+" && op !== "-")) {
      throw new DataOptionError("operations", 'a non-empty array of "+" and "-"', operations);
    }
    this.operations = [...new Set(operations)];
    this.seed = checkSeed("seed", options.seed ?? 0);

    const space = enumerate(this.minOperand, this.maxOperand, this.operations);
    if (space.length > MAX_SPACE) {
      throw new DataOptionError("maxOperand", `a range giving at most ${MAX_SPACE} problems`, this.maxOperand);
    }
    const testSize = resolveTestSize(options, space.length);
    new SeededRandom(this.seed).shuffle(space);
    const format = options.formatPrompt ?? defaultArithmeticPrompt;
    const toExample = (problem: ArithmeticProblem): ArithmeticExample => {
      const key = `${problem.a}${problem.op}${problem.b}`;
      return { id: `arith/${key}`, prompt: format(problem), target: String(problem.answer), problem, answer: problem.answer };
    };
    this.test = Object.freeze(space.slice(0, testSize).map(toExample));
    this.train = Object.freeze(space.slice(testSize).map(toExample));
  }

  split(name: ArithmeticSplit): readonly ArithmeticExample[] {
    if (name === "train") return this.train;
    if (name === "test") return this.test;
    throw new DataOptionError("split", '"train" or "test"', name);
  }

  /** SFT pairs for a split: prompt → correct `<think>…</think><answer>N</answer>` response. */
  sftRecords(name: ArithmeticSplit, options: FormatSolutionOptions = {}): PromptResponseRecord[] {
    return this.split(name).map((e) => ({ prompt: e.prompt, response: formatArithmeticSolution(e.problem, options) }));
  }
}

function resolveTestSize(options: ArithmeticTaskOptions, total: number): number {
  if (options.testSize !== undefined) {
    if (!Number.isSafeInteger(options.testSize) || options.testSize < 1 || options.testSize >= total) {
      throw new DataOptionError("testSize", `an integer in [1, ${total - 1}] (the space has ${total} problems)`, options.testSize);
    }
    return options.testSize;
  }
  const fraction = options.testFraction ?? 0.1;
  if (typeof fraction !== "number" || !(fraction > 0 && fraction < 1)) {
    throw new DataOptionError("testFraction", "a number in (0, 1)", fraction);
  }
  return Math.min(total - 1, Math.max(1, Math.round(total * fraction)));
}

function enumerate(min: number, max: number, operations: readonly ArithmeticOperation[]): ArithmeticProblem[] {
  const out: ArithmeticProblem[] = [];
  for (const op of operations) {
    for (let a = min; a <= max; a++) {
      for (let b = min; b <= max; b++) {
        if (op === "-" && b > a) continue; // results stay non-negative: no "-" sign for the model to learn
        out.push({ a, b, op, answer: op === "+" ? a + b : a - b });
      }
    }
  }
  return out;
}

export interface FormatSolutionOptions {
  /**
   * `"short"`: `<think>23+58=81</think>`; `"steps"`: column arithmetic from the ones digit,
   * `<think>3+8=11,2+5+1=8</think>` (carries and borrows written out).
   * @default "short"
   */
  style?: SolutionStyle;
}

/** The correct response for a problem, in the format `MathReward` scores as 1. */
export function formatArithmeticSolution(problem: ArithmeticProblem, options: FormatSolutionOptions = {}): string {
  const style = options.style ?? "short";
  if (style !== "short" && style !== "steps") throw new DataOptionError("style", '"short" or "steps"', style);
  const think = style === "short" ? `${problem.a}${problem.op}${problem.b}=${problem.answer}` : columnSteps(problem);
  return `<think>${think}</think><answer>${problem.answer}</answer>`;
}

/** Column arithmetic, ones digit first: one `x+y(+1)=s` or `x-y=d` step per digit. */
function columnSteps({ a, b, op }: ArithmeticProblem): string {
  const da = digitsLowFirst(a);
  const db = digitsLowFirst(b);
  const n = Math.max(da.length, db.length);
  const steps: string[] = [];
  let carry = 0;
  for (let i = 0; i < n; i++) {
    const x = da[i] ?? 0;
    const y = db[i] ?? 0;
    if (op === "+") {
      const s = x + y + carry;
      steps.push(`${x}+${y}${carry ? "+1" : ""}=${s}`);
      carry = s >= 10 ? 1 : 0;
    } else {
      // a ≥ b, so the top digit after lending is never negative at the last column.
      const top = x - carry;
      const borrow = top < y ? 1 : 0;
      steps.push(`${top + 10 * borrow}-${y}=${top + 10 * borrow - y}`);
      carry = borrow;
    }
  }
  return steps.join(",");
}

function digitsLowFirst(n: number): number[] {
  return String(n).split("").reverse().map(Number);
}
