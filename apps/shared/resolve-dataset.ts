/**
 * Turns a config's `dataset` section into train and eval prompt lists: the built-in arithmetic
 * task (`arithmetic` or `arithmetic:<level>`), the agentic task's multiplications
 * (`arithmetic:mul-3x2`, `arithmetic:mul-2x2`), or a GSM8K-style JSONL directory.
 */
import {
  ArithmeticTask,
  MULTIPLICATION_LEVELS,
  MultiplicationTask,
  gsm8kSplitFile,
  loadGsm8k,
  type ArithmeticLevel,
  type MultiplicationLevel,
  type PromptExample,
} from "../../src/data/index.ts";

export interface DatasetSpec {
  path: string;
  split: string;
  evalSplit: string | null;
  maxSamples: number | null;
  seed: number;
}

export interface ResolvedDataset {
  train: PromptExample[];
  eval: PromptExample[];
  /** `arithmetic` task object when the built-in task is used (SFT records come from it). */
  arithmetic?: ArithmeticTask;
}

const LEVELS = ["add-1d", "addsub-1d", "add-small", "add-2d", "addsub-2d"];
/** Held-out problems per level: 200 for the 2-digit levels, a quarter of `add-small`'s 400, a fifth of the 1-digit spaces. */
const TEST_SPLIT: Record<string, { testSize: number } | { testFraction: number }> = { "add-small": { testSize: 100 } };

export async function resolveDataset(spec: DatasetSpec): Promise<ResolvedDataset> {
  const cap = <T>(xs: T[]): T[] => (spec.maxSamples ? xs.slice(0, spec.maxSamples) : xs);
  const m = /^arithmetic(?::(.+))?$/.exec(spec.path);
  if (m && MULTIPLICATION_LEVELS.includes(m[1] as MultiplicationLevel)) {
    // 500 held-out problems, the split bench/agent-start-accuracy.ts and the agent SFT data use.
    const task = new MultiplicationTask({ level: m[1] as MultiplicationLevel, seed: spec.seed, testSize: 500 });
    const pick = (split: string) => {
      if (split !== "train" && split !== "test")
        throw new TypeError(`dataset split '${split}' must be train or test for the arithmetic task`);
      return [...task.split(split)];
    };
    return { train: cap(pick(spec.split)), eval: spec.evalSplit ? pick(spec.evalSplit) : [] };
  }
  if (m) {
    const level = (m[1] ?? "add-2d") as ArithmeticLevel;
    if (!LEVELS.includes(level))
      throw new TypeError(`dataset.path 'arithmetic:${level}': level must be one of ${[...LEVELS, ...MULTIPLICATION_LEVELS].join(", ")}`);
    const split = TEST_SPLIT[level] ?? (level.endsWith("1d") ? { testFraction: 0.2 } : { testSize: 200 });
    const task = new ArithmeticTask({ level, seed: spec.seed, ...split });
    const pick = (split: string) => {
      if (split !== "train" && split !== "test")
        throw new TypeError(`dataset split '${split}' must be train or test for the arithmetic task`);
      return [...task.split(split)];
    };
    return { train: cap(pick(spec.split)), eval: spec.evalSplit ? pick(spec.evalSplit) : [], arithmetic: task };
  }
  const load = async (split: string) => cap(await loadGsm8k({ dir: spec.path, split: split as "train" | "test" }));
  const train = await load(spec.split);
  if (train.length === 0) {
    const file = gsm8kSplitFile(spec.path, spec.split as "train" | "test");
    throw new TypeError(`dataset.path '${spec.path}': ${file} has no examples (split '${spec.split}'); training needs at least one`);
  }
  return { train, eval: spec.evalSplit ? await load(spec.evalSplit) : [] };
}
