/**
 * What every training app does before it starts: check `--resume` against the checkpoint folder,
 * create the output directory and hold its lock (one run per `output_dir`) while `run` goes.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { hasCheckpoint } from "../../src/trainer/index.ts";
import { acquireRunLock } from "../../src/util/run-lock.ts";

export interface RunDirectoryOptions {
  outputDir: string;
  checkpointDir: string;
  /** `true` requires a checkpoint; `"auto"` and `false` do not. */
  resume: boolean | "auto" | undefined;
  log: (line: string) => void;
  /** The app's error class for a missing checkpoint. */
  error: (message: string) => Error;
}

export async function inRunDirectory<T>(o: RunDirectoryOptions, run: () => Promise<T>): Promise<T> {
  const checkpointDir = resolve(o.checkpointDir);
  if (o.resume === true && !hasCheckpoint(checkpointDir)) {
    throw o.error(`--resume: no checkpoint in ${checkpointDir}; run without --resume to start fresh, or use --resume=auto`);
  }
  const outputDir = resolve(o.outputDir);
  mkdirSync(outputDir, { recursive: true });
  const lock = acquireRunLock(outputDir, { log: o.log });
  try {
    return await run();
  } finally {
    lock.release();
  }
}
