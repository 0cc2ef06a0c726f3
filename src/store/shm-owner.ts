/**
 * Who owns a shared-memory store directory, so that a later run (or `forge clean`) can reclaim the
 * leftovers of a run that died without cleaning up (SIGKILL, a crash in native code, a power cut of
 * the process tree) — /dev/shm is RAM, and nothing else frees it before a reboot.
 *
 * A store made by `SharedMemoryStore.create` holds `owner.json`: the creating process's pid, its
 * host, its start time (so a recycled pid is not mistaken for the owner) and whether the store is
 * temporary (`removeOnClose`). A store is reclaimable when it is temporary, was made on this host
 * and its owner process is gone. A live run's store is never touched; nor is a persistent one.
 */
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.ts";

export const OWNER_FILE = "owner.json";
/** Store directories are `<dir>/<STORE_PREFIX><name>`. */
export const STORE_PREFIX = "torchforge-store-";

export interface StoreOwner {
  pid: number;
  host: string;
  /** The owner's start time in clock ticks since boot (/proc/<pid>/stat), or null where unknown. */
  startTicks: number | null;
  /** The store is removed when its owner closes it or exits: a leftover may be reclaimed. */
  temporary: boolean;
  createdAt: string;
}

/** Start time of `pid` in clock ticks since boot (Linux), or null when unknown or the process is gone. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22; the command name (field 2) may hold spaces and parentheses, so count after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writeOwner(root: string, temporary: boolean): void {
  const owner: StoreOwner = { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid), temporary, createdAt: new Date().toISOString() };
  writeFileAtomic(join(root, OWNER_FILE), JSON.stringify(owner));
}

export function readOwner(root: string): StoreOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(join(root, OWNER_FILE), "utf8")) as Partial<StoreOwner>;
    if (typeof o.pid !== "number" || typeof o.host !== "string") return undefined;
    return { pid: o.pid, host: o.host, startTicks: o.startTicks ?? null, temporary: o.temporary === true, createdAt: String(o.createdAt ?? "?") };
  } catch {
    return undefined;
  }
}

/** Whether the process that made the store is still running (on this host; other hosts count as alive). */
export function ownerAlive(owner: StoreOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!isAlive(owner.pid)) return false;
  const now = processStartTicks(owner.pid);
  return owner.startTicks === null || now === null || now === owner.startTicks;
}

/**
 * Stores made before owner files (`grpo-<pid>`, `<pid>-<time>`, `test-<pid>-…`) carry their
 * creator's pid in the name: a number in it that is a running process keeps the store.
 */
function legacyOwnerAlive(name: string): boolean {
  const numbers = name.slice(STORE_PREFIX.length).split(/[-_.]/).filter((part) => /^\d{1,7}$/.test(part)).map(Number);
  return numbers.some((pid) => pid > 1 && isAlive(pid));
}

export interface SweepOptions {
  /** Directory holding the stores. @default "/dev/shm" */
  dir?: string;
  /**
   * Also remove store directories without an owner file (made before owners were recorded, or by
   * a create that failed half-way) once they are older than `unownedAgeMs`. @default false
   */
  unowned?: boolean;
  /** @default 60000 */
  unownedAgeMs?: number;
}

export interface SweepResult {
  /** Store directories removed. */
  removed: string[];
  /** Store directories left alone, with why. */
  kept: { path: string; reason: string }[];
}

/** Removes the temporary stores of dead owners under `dir` (and, when asked, old unowned ones). Never throws. */
export function sweepDeadStores(options: SweepOptions = {}): SweepResult {
  const dir = options.dir ?? "/dev/shm";
  const result: SweepResult = { removed: [], kept: [] };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(STORE_PREFIX));
  } catch {
    return result;
  }
  for (const name of names) {
    const path = join(dir, name);
    const owner = readOwner(path);
    let reason: string | undefined;
    if (owner) {
      if (!owner.temporary) reason = "persistent (removeOnClose: false)";
      else if (ownerAlive(owner)) reason = `owner process ${owner.pid} is running`;
    } else if (!options.unowned) {
      reason = "no owner file (forge clean removes it)";
    } else if (legacyOwnerAlive(name)) {
      reason = "no owner file, and its name holds the pid of a running process";
    } else {
      try {
        if (Date.now() - statSync(path).mtimeMs < (options.unownedAgeMs ?? 60_000)) reason = "no owner file yet (just made?)";
      } catch {
        continue; // removed meanwhile
      }
    }
    if (reason !== undefined) {
      result.kept.push({ path, reason });
      continue;
    }
    try {
      rmSync(path, { recursive: true, force: true });
      result.removed.push(path);
    } catch (err) {
      result.kept.push({ path, reason: `cannot remove: ${(err as Error).message}` });
    }
  }
  return result;
}
