/**
 * One run per output directory: `<dir>/.lock` names the holder (pid, host, start time), created
 * with O_EXCL so two runs cannot both take it. A lock left by a process that is gone (on this
 * host) is taken over, with a message; a live holder is an error naming it.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export class RunLockError extends Error {
  override name = "RunLockError";
}

export interface RunLock {
  readonly path: string;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

export function acquireRunLock(dir: string, options: { log?: (line: string) => void } = {}): RunLock {
  const path = join(dir, ".lock");
  const me: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify(me) + "\n");
      } finally {
        closeSync(fd);
      }
      return { path, release: () => releaseIfMine(path, me) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new RunLockError(`${dir} is being locked by another run at the same moment; try again`);
        throw new RunLockError(`cannot create the run lock ${path}: ${(err as Error).message}`);
      }
    }
    const holder = readHolder(path);
    if (holder && holder.host === me.host && isAlive(holder.pid)) {
      throw new RunLockError(
        `output directory ${dir} is in use by process ${holder.pid} (started ${holder.startedAt}); ` +
          "stop that run or choose another output_dir",
      );
    }
    if (holder && holder.host !== me.host) {
      throw new RunLockError(`output directory ${dir} is locked by process ${holder.pid} on host ${holder.host}; remove ${path} if that run is gone`);
    }
    options.log?.(`taking over a stale lock in ${dir} (process ${holder?.pid ?? "?"} is gone)`);
    try {
      unlinkSync(path);
    } catch {
      // Another run took it over first; the next attempt's O_EXCL decides.
    }
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<Holder>;
    return typeof h.pid === "number" && typeof h.host === "string" ? { pid: h.pid, host: h.host, startedAt: String(h.startedAt ?? "?") } : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

function releaseIfMine(path: string, me: Holder): void {
  const holder = readHolder(path);
  if (holder && holder.pid === me.pid && holder.startedAt === me.startedAt) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
