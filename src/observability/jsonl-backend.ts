/**
 * JSONL metrics: one JSON object per flush, `{"step": N, "time": <unix s>, "<key>": value, ...}`,
 * appended with an unbuffered write (so a crash loses at most the flush in progress). NaN/inf
 * are written as null (JSON has no such numbers).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { MetricBackend } from "./metric-logger.ts";
import type { MetricValue } from "./metrics.ts";
import { writeAll } from "../util/atomic-write.ts";

export interface JsonlBackendOptions {
  /** File to append to (created with its directory). */
  path: string;
  /** Also write `sample`-reduced metrics (lists of raw values). @default false */
  includeSamples?: boolean;
  /** fsync after every line (durable across power loss, slower). @default false */
  fsync?: boolean;
  /** Wall clock in seconds. @default Date.now() / 1000 */
  now?: () => number;
}

/** One line of a metrics JSONL file. */
export interface MetricRecord {
  step: number;
  time?: number;
  [key: string]: unknown;
}

export class JsonlBackend implements MetricBackend {
  readonly path: string;
  readonly #includeSamples: boolean;
  readonly #fsync: boolean;
  readonly #now: () => number;
  #fd: number | null;

  constructor(options: JsonlBackendOptions) {
    if (typeof options?.path !== "string" || options.path === "") throw new TypeError(`JsonlBackend: 'path' must be a file path; got ${JSON.stringify(options?.path)}`);
    this.path = options.path;
    this.#includeSamples = options.includeSamples ?? false;
    this.#fsync = options.fsync ?? false;
    this.#now = options.now ?? (() => Date.now() / 1000);
    mkdirSync(dirname(this.path), { recursive: true });
    this.#fd = openSync(this.path, "a");
  }

  log(step: number, metrics: Record<string, MetricValue>): void {
    if (this.#fd === null) throw new Error(`JsonlBackend: log(step ${step}) after close()`);
    const record: MetricRecord = { step, time: this.#now() };
    for (const [k, v] of Object.entries(metrics)) {
      if (Array.isArray(v)) {
        if (this.#includeSamples) record[k] = v;
      } else record[k] = Number.isFinite(v) ? v : null;
    }
    writeAll(this.#fd, Buffer.from(JSON.stringify(record) + "\n"));
    if (this.#fsync) fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** Reads a metrics JSONL file; a torn last line (a crash mid-write) is ignored. */
export function readMetricsJsonl(path: string): MetricRecord[] {
  if (!existsSync(path)) return [];
  const out: MetricRecord[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const r = JSON.parse(line) as MetricRecord;
      if (typeof r === "object" && r !== null && typeof r.step === "number") out.push(r);
    } catch {
      /* torn line */
    }
  }
  return out;
}
