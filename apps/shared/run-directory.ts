/**
 * What every training app does before it starts: check `--resume` against the checkpoint folder,
 * create the output directory and hold its lock (one run per `output_dir`) while `run` goes.
 */
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
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
  prepareWritableDir("output_dir", outputDir, o.error);
  if (!checkpointDir.startsWith(outputDir + sep)) prepareWritableDir("checkpoint.folder", checkpointDir, o.error);
  const lock = acquireRunLock(outputDir, { log: o.log });
  try {
    return await run();
  } finally {
    lock.release();
  }
}

/** Kernel pseudo-filesystems: not places for run output (writing there spins or fails obscurely). */
const PSEUDO_FS = ["/proc", "/sys"];

/**
 * Checks up front that `dir` can hold the run's files, before any model or process starts:
 * not under /proc or /sys, creatable, writable (a probe file is written and removed). The error
 * names the config key and the path.
 */
export function prepareWritableDir(key: string, dir: string, error: (message: string) => Error): void {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // unreadable: the mkdir/probe below reports it
  }
  const pseudo = PSEUDO_FS.find((p) => real === p || real.startsWith(p + "/"));
  if (pseudo) throw error(`${key}: ${dir} is under ${pseudo}, a kernel pseudo-filesystem; choose a directory on a real filesystem`);
  const probe = resolve(dir, `.write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "EROFS" || e.code === "EACCES" || e.code === "EPERM" || (e.code === "ENOENT" && !existsSync(dir))
        ? "cannot be created or written"
        : "is not writable";
    throw error(`${key}: ${dir} ${why} (${e.code ?? e.message}); choose a writable directory`);
  }
}
