/**
 * Turns a config's `dataset` section into train and eval prompt lists: the built-in arithmetic
 * task (`arithmetic` or `arithmetic:<level>`), the agentic task's multiplications
 * (`arithmetic:mul-3x2`, `arithmetic:mul-2x2`), or your own data — a JSONL/JSON/Parquet file, a
 * folder of split files (GSM8K's included), or a hub dataset id found in the local HF cache —
 * mapped by `prompt_field` / `answer_field` or a user `transform` module.
 */
import {
  ArithmeticTask,
  DatasetNotFoundError,
  MULTIPLICATION_LEVELS,
  MultiplicationTask,
  loadPromptExamples,
  loadSftRecords,
  resolveDatasetFiles,
  type AnswerFormat,
  type ArithmeticLevel,
  type MultiplicationLevel,
  type PromptExample,
  type RowTransform,
  type SftRecord,
} from "../../src/data/index.ts";
import { importUserExport } from "./resolve-rewards.ts";

export interface DatasetSpec {
  path: string;
  split: string;
  evalSplit: string | null;
  maxSamples: number | null;
  seed: number;
  /** The seed's spelling of `split`; wins when set. */
  dataSplit?: string;
  config?: string;
  revision?: string;
  promptField?: string;
  answerField?: string;
  promptKey?: string;
  answerKey?: string;
  answerFormat?: AnswerFormat;
  transform?: string;
  promptFormat?: "chat" | "raw";
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
  const split = spec.dataSplit ?? spec.split;
  const mapping = await promptMapping(spec);
  const where = { path: spec.path, config: spec.config, revision: spec.revision };
  const train = await loadPromptExamples({ ...where, split, ...mapping, limit: spec.maxSamples ?? undefined });
  if (train.length === 0) {
    throw new TypeError(
      `dataset.path '${spec.path}': ${splitFiles(spec, split)} has no examples (split '${split}'); training needs at least one`,
    );
  }
  const evalSet = spec.evalSplit
    ? await asEvalSplit(spec.evalSplit, () => loadPromptExamples({ ...where, split: evalSplitOf(spec), ...mapping }))
    : [];
  if (spec.promptFormat === "raw") {
    const chat = [...train, ...evalSet].find((e) => e.messages);
    if (chat)
      throw new TypeError(`dataset.prompt_format 'raw' cannot encode the chat (messages) prompt of '${chat.id}'; use prompt_format: chat`);
  }
  return { train, eval: evalSet };
}

/** The files of a split, for messages. */
export function splitFiles(spec: DatasetSpec, split: string): string {
  return resolveDatasetFiles({ path: spec.path, config: spec.config, revision: spec.revision, split }).files.join(", ");
}

/** A missing eval split names the key that asked for it. */
async function asEvalSplit<T>(split: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof DatasetNotFoundError) throw new TypeError(`dataset.eval_split '${split}': ${error.message}`, { cause: error });
    throw error;
  }
}

/** The eval split's name; a single-file dataset has no other split to evaluate on. */
function evalSplitOf(spec: DatasetSpec): string {
  const split = spec.evalSplit!;
  if (
    resolveDatasetFiles({ path: spec.path, config: spec.config, revision: spec.revision, split: spec.dataSplit ?? spec.split }).singleFile
  ) {
    throw new TypeError(
      `dataset.eval_split '${split}' needs a folder of split files; dataset.path '${spec.path}' is one file ` +
        "(remove eval_split or point path at the folder)",
    );
  }
  return split;
}

/** `dataset.transform` loaded from its module, or the field mapping. */
async function loadTransform(spec: { transform?: string }): Promise<{ transform?: RowTransform; transformName?: string }> {
  if (!spec.transform) return {};
  const fn = await importUserExport(spec.transform, "dataset.transform");
  if (typeof fn !== "function")
    throw new TypeError(
      `dataset.transform '${spec.transform}' must export a function (row, { file, row, split }) => record; got ${typeof fn}`,
    );
  return { transform: fn as RowTransform, transformName: `transform ${spec.transform}` };
}

/** One spelling per key (`prompt_field` or the older `prompt_key`), and no field names beside a transform. */
function field(spec: DatasetSpec, key: "prompt" | "answer"): string | undefined {
  const [a, b] = key === "prompt" ? [spec.promptField, spec.promptKey] : [spec.answerField, spec.answerKey];
  if (a !== undefined && b !== undefined && a !== b)
    throw new TypeError(`dataset.${key}_field '${a}' and dataset.${key}_key '${b}' disagree; set only ${key}_field`);
  return a ?? b;
}

async function promptMapping(spec: DatasetSpec) {
  const promptField = field(spec, "prompt");
  const answerField = field(spec, "answer");
  if (spec.transform && (promptField || answerField)) {
    throw new TypeError(
      `dataset.transform builds each record itself; remove dataset.${promptField ? "prompt" : "answer"}_field ` +
        "(the transform reads any field of the row)",
    );
  }
  return { promptField, answerField, answerFormat: spec.answerFormat, ...(await loadTransform(spec)) };
}

export interface SftDatasetSpec extends DatasetSpec {
  format?: "auto" | "messages" | "prompt_response";
  messagesKey?: string;
  responseKey?: string;
}

/** SFT records of one split of your own data (file, folder or hub id), mapped by the SFT keys or a transform. */
export async function resolveSftRecords(spec: SftDatasetSpec, split: string, limit?: number): Promise<SftRecord[]> {
  const promptField = field(spec, "prompt");
  if (spec.transform && (promptField || spec.responseKey)) {
    throw new TypeError(`dataset.transform builds each record itself; remove dataset.${promptField ? "prompt_field" : "response_key"}`);
  }
  const isEval = split !== (spec.dataSplit ?? spec.split);
  if (isEval) evalSplitOf({ ...spec, evalSplit: split });
  const load = async () =>
    loadSftRecords({
      path: spec.path,
      config: spec.config,
      revision: spec.revision,
      split,
      limit,
      format: spec.format,
      messagesField: spec.messagesKey,
      promptField,
      responseField: spec.responseKey,
      ...(await loadTransform(spec)),
    });
  return isEval ? asEvalSplit(split, load) : load();
}
