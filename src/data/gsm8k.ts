/**
 * GSM8K (grade-school math word problems) from local JSONL: `<dir>/train.jsonl` and
 * `<dir>/test.jsonl`, each line `{ "question": …, "answer": "…reasoning…\n#### 18" }` as in the
 * Hugging Face `openai/gsm8k` "main" config. The numeric target is the text after `####`.
 *
 * Parquet files in the Hub's layout (`<dir>/main/test-00000-of-00001.parquet`, or next to the
 * JSONL names) are read too, with `hyparquet` (pure JavaScript, snappy included).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError, DataOptionError, DatasetFieldError, DatasetNotFoundError } from "./errors.ts";
import type { PromptExample } from "./example.ts";
import { readJsonl, type JsonlRecord } from "./jsonl.ts";

export type Gsm8kSplit = "train" | "test";

export interface Gsm8kExample extends PromptExample {
  /** The original question. */
  question: string;
  /** The worked solution before `####` (calculator annotations `<<…>>` kept). */
  solution: string;
  /** The final answer as a number. */
  answer: number;
}

export interface Gsm8kOptions {
  /** Directory holding `train.jsonl` / `test.jsonl`. */
  dir: string;
  /** @default "train" */
  split?: Gsm8kSplit;
  /** Read at most this many examples. @default Infinity */
  limit?: number;
  /** Builds the prompt from the question. @default the question unchanged */
  formatPrompt?: (question: string) => string;
}

/** Splits a GSM8K answer into solution and final number; `source` names the record in errors. */
export function parseGsm8kAnswer(answer: unknown, source = "gsm8k answer"): { solution: string; target: string; answer: number } {
  if (typeof answer !== "string") throw new DatasetFieldError(source, "answer", "a string", answer);
  const marker = answer.lastIndexOf("####");
  if (marker < 0) throw new DatasetFieldError(source, "answer", "text ending in '#### <number>'", answer);
  const target = answer.slice(marker + 4).trim().replace(/[,$\s]/g, "");
  const value = Number(target);
  if (target === "" || !Number.isFinite(value)) {
    throw new DatasetFieldError(source, "answer", "a number after '####'", answer.slice(marker));
  }
  return { solution: answer.slice(0, marker).trim(), target, answer: value };
}

/** Converts one JSONL record into an example. */
export function toGsm8kExample(record: JsonlRecord, split: Gsm8kSplit, formatPrompt: (q: string) => string = (q) => q): Gsm8kExample {
  const where = `${record.file}:${record.line}`;
  const value = record.value as { question?: unknown; answer?: unknown } | null;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DatasetFieldError(where, "(record)", "an object with 'question' and 'answer'", value);
  }
  if (typeof value.question !== "string" || value.question.trim() === "") {
    throw new DatasetFieldError(where, "question", "a non-empty string", value.question);
  }
  const { solution, target, answer } = parseGsm8kAnswer(value.answer, where);
  return { id: `gsm8k/${split}/${record.line}`, prompt: formatPrompt(value.question), target, question: value.question, solution, answer };
}

/** Path of a split's JSONL file, or a `DatasetNotFoundError` saying where it looked. */
export function gsm8kSplitFile(dir: string, split: Gsm8kSplit): string {
  if (split !== "train" && split !== "test") throw new DataOptionError("split", '"train" or "test"', split);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DatasetNotFoundError(dir, "no such directory; point 'dir' at a folder with train.jsonl and test.jsonl");
  }
  const file = join(dir, `${split}.jsonl`);
  if (existsSync(file)) return file;
  const parquet = findParquet(dir, split);
  if (parquet) return parquet;
  throw new DatasetNotFoundError(file, `expected ${split}.jsonl, or ${split}-*.parquet here or under main/ or data/`);
}

function findParquet(dir: string, split: string): string | undefined {
  const candidates = [dir, join(dir, "main"), join(dir, "data")].filter((d) => existsSync(d) && statSync(d).isDirectory());
  for (const d of candidates) {
    const hit = readdirSync(d).find((f) => f.startsWith(split) && f.endsWith(".parquet"));
    if (hit) return join(d, hit);
  }
  return undefined;
}

/** Streams a split's examples (constant memory). */
export async function* streamGsm8k(options: Gsm8kOptions): AsyncGenerator<Gsm8kExample> {
  const split = options.split ?? "train";
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new DataOptionError("limit", "a non-negative integer", limit);
  }
  const file = gsm8kSplitFile(options.dir, split);
  let count = 0;
  if (count >= limit) return;
  const records = file.endsWith(".parquet") ? readParquetRows(file) : readJsonl(file);
  for await (const record of records) {
    yield toGsm8kExample(record, split, options.formatPrompt);
    if (++count >= limit) return;
  }
}

/** Parquet rows as JSONL-like records (row number as the "line", for error messages). */
async function* readParquetRows(file: string): AsyncGenerator<JsonlRecord> {
  const { asyncBufferFromFile, parquetReadObjects } = await import("hyparquet");
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), columns: ["question", "answer"] });
  } catch (err) {
    throw new DataError(`${file}: not a readable Parquet file with 'question' and 'answer' columns (${(err as Error).message})`, { cause: err });
  }
  for (const [i, value] of rows.entries()) yield { value, file, line: i + 1 };
}

/** Loads a split into memory (GSM8K is small: 7,473 train / 1,319 test). */
export async function loadGsm8k(options: Gsm8kOptions): Promise<Gsm8kExample[]> {
  const out: Gsm8kExample[] = [];
  for await (const example of streamGsm8k(options)) out.push(example);
  return out;
}

/** A system prompt asking for torchforge's `<think>` / `<answer>` format, so `MathReward` can score. */
export const GSM8K_SYSTEM_PROMPT =
  "Solve the problem. Put your reasoning between <think> and </think> tags, " +
  "then the final number alone between <answer> and </answer> tags.";
