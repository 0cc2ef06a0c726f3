/**
 * Rows of a dataset file, streamed: JSONL line by line, Parquet one row group at a time
 * (`hyparquet`, pure JavaScript), `.json` as JSON Lines or one JSON array (read whole). Each row
 * keeps its file and position so a later mapping error can point at it.
 */
import { openSync, readSync, closeSync, readFileSync } from "node:fs";
import { DataError, DatasetRowError, JsonlParseError } from "./errors.ts";
import { readJsonl } from "./jsonl.ts";
import { displayPath } from "./dataset-files.ts";

export interface DataRow {
  value: unknown;
  /** The file as errors show it (relative to the working directory when inside it). */
  file: string;
  /** `line` for JSON Lines (the 1-based line number), `row` for Parquet and JSON arrays (1-based). */
  unit: "line" | "row";
  row: number;
}

/** Streams the rows of one `.jsonl`, `.json` or `.parquet` file. */
export async function* readRows(file: string): AsyncGenerator<DataRow> {
  const shown = displayPath(file);
  const lower = file.toLowerCase();
  if (lower.endsWith(".parquet")) {
    yield* readParquet(file, shown);
  } else if (lower.endsWith(".json") && firstChar(file) === "[") {
    let rows: unknown;
    try {
      rows = JSON.parse(readFileSync(file, "utf8").replace(/^\uFEFF/, ""));
    } catch (error) {
      throw new DatasetRowError(shown, "row", 1, "", `invalid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(rows)) throw new DatasetRowError(shown, "row", 1, "", "expected a JSON array of records");
    for (const [i, value] of rows.entries()) yield { value, file: shown, unit: "row", row: i + 1 };
  } else {
    try {
      for await (const r of readJsonl(file)) yield { value: r.value, file: shown, unit: "line", row: r.line };
    } catch (error) {
      // Same `file line N:` form as every other row error, with the path the user wrote.
      if (error instanceof JsonlParseError) {
        const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
        throw new DatasetRowError(shown, "line", error.line, "", `invalid JSON (${cause})`);
      }
      throw error;
    }
  }
}

/** Parquet rows, one row group in memory at a time. */
async function* readParquet(file: string, shown: string): AsyncGenerator<DataRow> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new DataError(`${shown}: not a readable Parquet file (${(err as Error).message})`, { cause: err });
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
    for (const [i, value] of rows.entries()) yield { value: plain(value), file: shown, unit: "row", row: start + i + 1 };
    start = end;
  }
}

/** Parquet INT64 columns come back as BigInt, which JSON and string templates handle badly. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The first non-blank character of a file (reads at most 4 KiB). */
function firstChar(file: string): string {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return /\S/.exec(buf.subarray(0, n).toString("utf8").replace(/^\uFEFF/, ""))?.[0] ?? "";
  } finally {
    closeSync(fd);
  }
}
