/**
 * The standard set of backends for a training run directory:
 *
 *     <dir>/metrics.jsonl    JSONL, one object per flush
 *     <dir>/tensorboard/     TensorBoard event file (`tensorboard --logdir <dir>/tensorboard`)
 *     <dir>/dashboard.html   self-contained dashboard (uPlot), written at the first flush and on close
 *     <dir>/dashboard-data.js  its live data, rewritten every `dashboardEvery` flushes (the open page re-loads it)
 *     <dir>/samples.jsonl    trajectory samples the app appends (shown on the dashboard)
 *     console                progress bar + ETA
 */
import { join } from "node:path";
import type { MetricBackend } from "./metric-logger.ts";
import { JsonlBackend } from "./jsonl-backend.ts";
import { TensorBoardBackend } from "./tensorboard-backend.ts";
import { DashboardBackend } from "./dashboard-backend.ts";
import { ProgressConsoleBackend, type ProgressConsoleOptions } from "./progress-console-backend.ts";

export interface RunBackendsOptions {
  /** Run directory the files go to. */
  dir: string;
  /** Total steps (progress bar, ETA). */
  totalSteps?: number;
  /** Console progress options, or false for none. @default {} */
  console?: ProgressConsoleOptions | false;
  /** @default true */
  tensorboard?: boolean;
  /** Regenerate the dashboard every N flushes; 0 for no dashboard. @default 10 */
  dashboardEvery?: number;
  /** Dashboard page title. @default "torchforge run" */
  title?: string;
}

export interface RunBackends {
  backends: MetricBackend[];
  jsonlPath: string;
  /** Where the app appends trajectory samples for the dashboard. */
  samplesPath: string;
  dashboardPath?: string;
  tensorboardDir?: string;
}

export function createRunBackends(options: RunBackendsOptions): RunBackends {
  const jsonlPath = join(options.dir, "metrics.jsonl");
  // JSONL first: the dashboard reads it (and merges in the current flush if it is not there yet).
  const backends: MetricBackend[] = [new JsonlBackend({ path: jsonlPath })];
  const samplesPath = join(options.dir, "samples.jsonl");
  const out: RunBackends = { backends, jsonlPath, samplesPath };
  if (options.tensorboard ?? true) {
    out.tensorboardDir = join(options.dir, "tensorboard");
    backends.push(new TensorBoardBackend({ logDir: out.tensorboardDir }));
  }
  const every = options.dashboardEvery ?? 10;
  if (every > 0) {
    out.dashboardPath = join(options.dir, "dashboard.html");
    backends.push(new DashboardBackend({ path: out.dashboardPath, jsonlPath, samplesPath, every, title: options.title }));
  }
  if (options.console !== false) backends.push(new ProgressConsoleBackend({ totalSteps: options.totalSteps, ...(options.console ?? {}) }));
  return out;
}
