/**
 * JSON Lines reading. Streams a file line by line (constant memory for large datasets); blank
 * lines are skipped; a bad line is a `JsonlParseError` naming the file and 1-based line number.
 */
import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { DatasetNotFoundError, JsonlParseError } from "./errors.ts";

/** One parsed line with its origin, so later validation errors can point at it. */
export interface JsonlRecord<T = unknown> {
  value: T;
  file: string;
  /** 1-based line number. */
  line: number;
}

/** Streams the records of a JSONL file. */
export async function* readJsonl(file: string): AsyncGenerator<JsonlRecord> {
  if (!existsSync(file)) throw new DatasetNotFoundError(file, "no such file");
  const input = createReadStream(file, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === "") continue;
      yield { value: parseLine(text, file, line), file, line };
    }
  } finally {
    // Also runs when the consumer stops early (e.g. a `limit`): release the file handle.
    lines.close();
    input.destroy();
  }
}

/** Reads a whole JSONL file into memory. */
export async function readJsonlFile(file: string): Promise<JsonlRecord[]> {
  const out: JsonlRecord[] = [];
  for await (const record of readJsonl(file)) out.push(record);
  return out;
}

/** Parses JSONL text already in memory; `source` names it in errors. */
export function parseJsonl(text: string, source = "<string>"): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() !== "") out.push({ value: parseLine(line, source, i + 1), file: source, line: i + 1 });
  });
  return out;
}

function parseLine(text: string, file: string, line: number): unknown {
  try {
    // A UTF-8 byte-order mark on the first line is not JSON.
    return JSON.parse(line === 1 ? text.replace(/^\uFEFF/, "") : text);
  } catch (error) {
    throw new JsonlParseError(file, line, error);
  }
}
