/**
 * The built-in agentic task's problems: multiplications a tiny model cannot do in its head
 * (`What is 123*45?`) but can do with a calculator tool. Like `ArithmeticTask`, the whole problem
 * space of a level is enumerated, shuffled with the seed and cut into disjoint train and test
 * splits, so held-out success measures generalisation, not memorisation.
 *
 * Levels (sizes of the problem space):
 * - `mul-2x2`  a×b, a,b in 10…99                (8,100)
 * - `mul-3x2`  a×b, a in 100…999, b in 10…99    (81,000)
 */
import { DataOptionError } from "./errors.ts";
import type { PromptExample } from "./example.ts";
import { checkSeed, SeededRandom } from "./random.ts";

export type MultiplicationLevel = "mul-2x2" | "mul-3x2";
export type MultiplicationSplit = "train" | "test";

export const MULTIPLICATION_LEVELS: readonly MultiplicationLevel[] = ["mul-2x2", "mul-3x2"];

export interface MultiplicationProblem {
  a: number;
  b: number;
  answer: number;
}

export interface MultiplicationExample extends PromptExample {
  problem: MultiplicationProblem;
}

const RANGES: Record<MultiplicationLevel, { a: [number, number]; b: [number, number] }> = {
  "mul-2x2": { a: [10, 99], b: [10, 99] },
  "mul-3x2": { a: [100, 999], b: [10, 99] },
};

export interface MultiplicationTaskOptions {
  /** @default "mul-3x2" */
  level?: MultiplicationLevel;
  /** Seed for the split and the order within each split. @default 0 */
  seed?: number;
  /** Number of held-out problems. @default 500 */
  testSize?: number;
  /** Builds the prompt text. @default `What is ${a}*${b}?` */
  formatPrompt?: (problem: MultiplicationProblem) => string;
}

/** `What is 123*45?`: the expression appears as the calculator takes it, so it can be copied. */
export function defaultMultiplicationPrompt(problem: MultiplicationProblem): string {
  return `What is ${problem.a}*${problem.b}?`;
}

export class MultiplicationTask {
  readonly level: MultiplicationLevel;
  readonly seed: number;
  readonly train: readonly MultiplicationExample[];
  readonly test: readonly MultiplicationExample[];

  constructor(options: MultiplicationTaskOptions = {}) {
    const level = options.level ?? "mul-3x2";
    if (!MULTIPLICATION_LEVELS.includes(level)) throw new DataOptionError("level", `one of ${MULTIPLICATION_LEVELS.join(", ")}`, level);
    this.level = level;
    this.seed = checkSeed("seed", options.seed ?? 0);
    const { a: [aMin, aMax], b: [bMin, bMax] } = RANGES[level];
    const space: MultiplicationProblem[] = [];
    for (let a = aMin; a <= aMax; a++) for (let b = bMin; b <= bMax; b++) space.push({ a, b, answer: a * b });
    const testSize = options.testSize ?? 500;
    if (!Number.isSafeInteger(testSize) || testSize < 1 || testSize >= space.length) {
      throw new DataOptionError("testSize", `an integer in [1, ${space.length - 1}] (the space has ${space.length} problems)`, testSize);
    }
    new SeededRandom(this.seed).shuffle(space);
    const format = options.formatPrompt ?? defaultMultiplicationPrompt;
    const toExample = (problem: MultiplicationProblem): MultiplicationExample => ({
      id: `mul/${problem.a}*${problem.b}`,
      prompt: format(problem),
      target: String(problem.answer),
      problem,
    });
    this.test = Object.freeze(space.slice(0, testSize).map(toExample));
    this.train = Object.freeze(space.slice(testSize).map(toExample));
  }

  split(name: MultiplicationSplit): readonly MultiplicationExample[] {
    if (name === "train") return this.train;
    if (name === "test") return this.test;
    throw new DataOptionError("split", '"train" or "test"', name);
  }
}
