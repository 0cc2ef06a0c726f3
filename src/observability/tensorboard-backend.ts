/**
 * TensorBoard backend: one event file per run (`events.out.tfevents.<time>.<host>.<pid>`), a
 * `brain.Event:2` header record, then one Event per flush holding every numeric metric as a
 * scalar summary. `tensorboard --logdir <dir>` reads it; no TensorFlow needed to write it.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { MetricBackend } from "./metric-logger.ts";
import type { MetricValue } from "./metrics.ts";
import { writeAll } from "../util/atomic-write.ts";
import { encodeEvent } from "./event-proto.ts";
import { encodeTfRecord } from "./tfrecord.ts";

export interface TensorBoardBackendOptions {
  /** Directory for the event file (TensorBoard's `--logdir`). */
  logDir: string;
  /** Wall clock in seconds. @default Date.now() / 1000 */
  now?: () => number;
}

export class TensorBoardBackend implements MetricBackend {
  /** Path of the event file being written. */
  readonly path: string;
  readonly #now: () => number;
  #fd: number | null;

  constructor(options: TensorBoardBackendOptions) {
    if (typeof options?.logDir !== "string" || options.logDir === "") throw new TypeError(`TensorBoardBackend: 'logDir' must be a directory path; got ${JSON.stringify(options?.logDir)}`);
    this.#now = options.now ?? (() => Date.now() / 1000);
    mkdirSync(options.logDir, { recursive: true });
    const t = this.#now();
    this.path = join(options.logDir, `events.out.tfevents.${Math.floor(t)}.${hostname()}.${process.pid}`);
    this.#fd = openSync(this.path, "a");
    writeAll(this.#fd, encodeTfRecord(encodeEvent({ wallTime: t, step: 0, fileVersion: "brain.Event:2" })));
  }

  log(step: number, metrics: Record<string, MetricValue>): void {
    if (this.#fd === null) throw new Error(`TensorBoardBackend: log(step ${step}) after close()`);
    const scalars = Object.entries(metrics)
      .filter((e): e is [string, number] => typeof e[1] === "number")
      .map(([tag, value]) => ({ tag, value }));
    if (scalars.length === 0) return;
    // Unbuffered write: each flush is on disk (in the OS) once log() returns.
    writeAll(this.#fd, encodeTfRecord(encodeEvent({ wallTime: this.#now(), step, scalars })));
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}
