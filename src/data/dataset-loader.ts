/**
 * Loading a split of your own data: find the files (`resolveDatasetFiles`), stream their rows
 * (`readRows`) and map each (`rowToPromptExample` / `rowToSftRecord`), stopping early at `limit`.
 */
import { DataOptionError } from "./errors.ts";
import type { PromptExample } from "./example.ts";
import { resolveDatasetFiles, type DatasetFilesOptions } from "./dataset-files.ts";
import { readRows, type DataRow } from "./read-rows.ts";
import { rowToPromptExample, rowToSftRecord, type PromptMapping, type SftMapping } from "./row-mapping.ts";
import type { SftRecord } from "./sft-records.ts";

export interface LoadSplitOptions extends DatasetFilesOptions {
  /** Read at most this many records. @default Infinity */
  limit?: number;
}

async function* streamMapped<T>(options: LoadSplitOptions, map: (row: DataRow, split: string) => Promise<T | null>): AsyncGenerator<T> {
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 0)) throw new DataOptionError("limit", "a non-negative integer", limit);
  if (limit === 0) return;
  const split = options.split ?? "train";
  const { files } = resolveDatasetFiles(options);
  let count = 0;
  for (const file of files) {
    for await (const row of readRows(file)) {
      const out = await map(row, split);
      if (out === null) continue;
      yield out;
      if (++count >= limit) return;
    }
  }
}

/** Streams a split's prompt examples (GRPO). */
export function streamPromptExamples(options: LoadSplitOptions & PromptMapping): AsyncGenerator<PromptExample> {
  return streamMapped(options, (row, split) => rowToPromptExample(row, split, options));
}

export async function loadPromptExamples(options: LoadSplitOptions & PromptMapping): Promise<PromptExample[]> {
  const out: PromptExample[] = [];
  for await (const example of streamPromptExamples(options)) out.push(example);
  return out;
}

/** Streams a split's SFT records. */
export function streamSftRecords(options: LoadSplitOptions & SftMapping): AsyncGenerator<SftRecord> {
  return streamMapped(options, (row, split) => rowToSftRecord(row, split, options));
}

export async function loadSftRecords(options: LoadSplitOptions & SftMapping): Promise<SftRecord[]> {
  const out: SftRecord[] = [];
  for await (const record of streamSftRecords(options)) out.push(record);
  return out;
}
