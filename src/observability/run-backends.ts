/**
 * The standard set of backends for a training run directory:
 *
 *     <dir>/metrics.jsonl    JSONL, one object per flush
 *     <dir>/tensorboard/     TensorBoard event file (`tensorboard --logdir <dir>/tensorboard`)
 *     <dir>/dashboard.html   self-contained dashboard (uPlot), written at the first flush and on close
 *     <dir>/dashboard-data.js  its live data, rewritten every `dashboardEvery` flushes (the open page re-loads it)
 *     <dir>/samples.jsonl    trajectory samples the app appends (shown on the dashboard)
 *     console                progress bar + ETA
 *
 * A resumed run (`resumeStep`) first drops the records of steps after its checkpoint from these
 * files (they will be logged again), and its ETA counts only the steps of this session.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { MetricBackend } from "./metric-logger.ts";
import { JsonlBackend } from "./jsonl-backend.ts";
import { TensorBoardBackend } from "./tensorboard-backend.ts";
import { DashboardBackend } from "./dashboard-backend.ts";
import { ProgressConsoleBackend, type ProgressConsoleOptions } from "./progress-console-backend.ts";
import { trimRunLogs, type TrimmedLogs } from "./resume-trim.ts";

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
  /** The step a resumed run starts from (its checkpoint's): later records are dropped. @default none (a fresh run) */
  resumeStep?: number;
}

export interface RunBackends {
  backends: MetricBackend[];
  jsonlPath: string;
  /** Where the app appends trajectory samples for the dashboard. */
  samplesPath: string;
  dashboardPath?: string;
  tensorboardDir?: string;
  /** Records dropped because they were after `resumeStep` (all 0 for a fresh run). */
  trimmed: TrimmedLogs;
}

export function createRunBackends(options: RunBackendsOptions): RunBackends {
  const jsonlPath = join(options.dir, "metrics.jsonl");
  const samplesPath = join(options.dir, "samples.jsonl");
  const tensorboardDir = join(options.dir, "tensorboard");
  const resumeStep = options.resumeStep;
  // Before any backend opens its file: a trim replaces the file (rename), an open fd would keep the old one.
  const trimmed =
    resumeStep === undefined ? { metrics: 0, samples: 0, tensorboard: 0 } : trimRunLogs({ afterStep: resumeStep, jsonlPath, samplesPath, tensorboardDir });
  // JSONL first: the dashboard reads it (and merges in the current flush if it is not there yet).
  const backends: MetricBackend[] = [new JsonlBackend({ path: jsonlPath })];
  const out: RunBackends = { backends, jsonlPath, samplesPath, trimmed };
  if (options.tensorboard ?? true) {
    out.tensorboardDir = tensorboardDir;
    backends.push(new TensorBoardBackend({ logDir: tensorboardDir }));
  }
  const every = options.dashboardEvery ?? 10;
  if (every > 0) {
    out.dashboardPath = join(options.dir, "dashboard.html");
    const dashboard = new DashboardBackend({ path: out.dashboardPath, jsonlPath, samplesPath, every, title: options.title });
    if (trimmed.metrics + trimmed.samples > 0 && existsSync(out.dashboardPath)) dashboard.write(); // no dropped step left on the page
    backends.push(dashboard);
  }
  if (options.console !== false) {
    // The pace is measured from the first flushed step, so after a resume the ETA counts from there.
    backends.push(new ProgressConsoleBackend({ totalSteps: options.totalSteps, ...(options.console ?? {}) }));
  }
  return out;
}
