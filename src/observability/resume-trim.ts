/**
 * A resumed run restarts at its checkpoint's step, but its logs may go further: the steps between
 * that checkpoint and the crash were logged, and will be logged again. `trimRunLogs` drops every
 * record of a step after the checkpoint's, so each step is in the metrics JSONL, TensorBoard and
 * the dashboard once. Each file is rewritten atomically (temp + rename): a crash while trimming
 * leaves the old file or the new one, never half of either. A line or record torn by the crash is
 * dropped too.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { decodeEvent } from "./event-proto.ts";
import { maskedCrc32c } from "./crc32c.ts";

export interface TrimRunLogsOptions {
  /** Keep records of steps ≤ this; drop the rest. */
  afterStep: number;
  /** Metrics JSONL (`{"step": N, ...}` per line). */
  jsonlPath?: string;
  /** Trajectory samples JSONL (`{"step": N, ...}` per line). */
  samplesPath?: string;
  /** TensorBoard log directory: every `events.out.tfevents.*` file in it. */
  tensorboardDir?: string;
}

/** How many records were dropped from each log. */
export interface TrimmedLogs {
  metrics: number;
  samples: number;
  tensorboard: number;
}

export function trimRunLogs(o: TrimRunLogsOptions): TrimmedLogs {
  if (!(Number.isInteger(o.afterStep) && o.afterStep >= 0)) throw new TypeError(`trimRunLogs: 'afterStep' must be an integer >= 0; got ${o.afterStep}`);
  return {
    metrics: o.jsonlPath ? trimJsonl(o.jsonlPath, o.afterStep) : 0,
    samples: o.samplesPath ? trimJsonl(o.samplesPath, o.afterStep) : 0,
    tensorboard: o.tensorboardDir ? trimTensorBoard(o.tensorboardDir, o.afterStep) : 0,
  };
}

function trimJsonl(path: string, afterStep: number): number {
  if (!existsSync(path)) return 0;
  const keep: string[] = [];
  let dropped = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    let step: unknown;
    try {
      step = (JSON.parse(line) as { step?: unknown }).step;
    } catch {
      step = undefined; // torn by the crash
    }
    if (typeof step === "number" && step <= afterStep) keep.push(line);
    else dropped++;
  }
  if (dropped > 0) writeFileAtomic(path, keep.map((l) => l + "\n").join(""));
  return dropped;
}

function trimTensorBoard(dir: string, afterStep: number): number {
  if (!existsSync(dir)) return 0;
  let dropped = 0;
  for (const name of readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents."))) {
    const path = join(dir, name);
    const { records, torn } = readRecords(readFileSync(path));
    const keep = records.filter((r) => decodeEvent(r.data).step <= afterStep);
    const n = records.length - keep.length + (torn ? 1 : 0);
    if (n > 0) writeFileAtomic(path, Buffer.concat(keep.map((r) => r.raw)));
    dropped += n;
  }
  return dropped;
}

/** TFRecords up to the first damaged one (a crash mid-write), each with its framed bytes. */
function readRecords(b: Buffer): { records: { raw: Buffer; data: Buffer }[]; torn: boolean } {
  const records: { raw: Buffer; data: Buffer }[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 12 > b.length || b.readUInt32LE(off + 8) !== maskedCrc32c(b.subarray(off, off + 8))) return { records, torn: true };
    const len = Number(b.readBigUInt64LE(off));
    const end = off + 12 + len + 4;
    if (end > b.length) return { records, torn: true };
    const data = b.subarray(off + 12, off + 12 + len);
    if (b.readUInt32LE(off + 12 + len) !== maskedCrc32c(data)) return { records, torn: true };
    records.push({ raw: b.subarray(off, end), data });
    off = end;
  }
  return { records, torn: false };
}
