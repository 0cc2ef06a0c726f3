/**
 * Notices that this process's parent is gone and acts on it, even while the main thread is stuck
 * in a long native call.
 *
 * Why this shape: Linux's prctl(PR_SET_PDEATHSIG) is what a C program would use, but Node does not
 * expose it (and the addon cannot be rebuilt for it). An IPC channel's 'disconnect' event covers a
 * dead parent only when the child's event loop is free, and a generator in the middle of a batch
 * is not. So a worker thread (its own event loop, asleep between polls) reads the live
 * `process.ppid` every `pollMs`; when it differs from the parent we started under (re-parented to
 * init or a subreaper), it sends `signal` to this process and, if we are still alive `graceMs`
 * later, SIGKILL. Cost: one mostly idle thread and a few MB for its isolate.
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";

export interface ParentWatchdogOptions {
  /** Signal sent to this process when the parent is gone. @default "SIGKILL" */
  signal?: NodeJS.Signals;
  /** After `signal`, SIGKILL this process if it still runs this long later (ms); ignored for SIGKILL. @default 15000 */
  graceMs?: number;
  /** How often the parent is checked (ms). @default 250 */
  pollMs?: number;
  /** The parent to watch. @default process.ppid now */
  parentPid?: number;
  /**
   * Generations to watch: 2 also acts when the parent's own parent goes (e.g. npx above the
   * `sh -c` it runs us through). @default 1
   */
  generations?: number;
}

// Plain JavaScript evaluated in the worker: no loader (tsx) and no imports of this package.
// `links` are [pid, its parent's pid] pairs from this process up; 0 stands for this process.
const WORKER_SOURCE = `
const { readFileSync } = require("node:fs");
const { workerData } = require("node:worker_threads");
const { links, signal, graceMs, pollMs } = workerData;
const ppidOf = (pid) => {
  if (pid === 0) return process.ppid;
  try {
    const stat = readFileSync("/proc/" + pid + "/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch { return -1; }
};
const timer = setInterval(() => {
  if (links.every(([pid, parent]) => ppidOf(pid) === parent)) return;
  clearInterval(timer);
  try { process.kill(process.pid, signal); } catch {}
  if (signal !== "SIGKILL") setTimeout(() => { try { process.kill(process.pid, "SIGKILL"); } catch {} }, graceMs);
}, pollMs);
`;

/** The parent of `pid` (Linux /proc), or undefined. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The command name of `pid` (Linux /proc), or undefined. */
export function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Starts the watchdog; it never keeps the process alive. Returns a function that stops it. */
export function watchParent(options: ParentWatchdogOptions = {}): () => void {
  const parentPid = options.parentPid ?? process.ppid;
  const links: [number, number][] = [[0, parentPid]];
  // Further generations: the parent's parent and so on, as they are now (Linux only).
  for (let g = 1, pid = parentPid; g < (options.generations ?? 1); g++) {
    const up = parentOf(pid);
    if (up === undefined || up <= 1) break;
    links.push([pid, up]);
    pid = up;
  }
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { links, signal: options.signal ?? "SIGKILL", graceMs: options.graceMs ?? 15_000, pollMs: options.pollMs ?? 250 },
    // The worker needs none of the parent's flags (e.g. --import tsx) or its stdin.
    execArgv: [],
    stdin: false,
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  worker.unref();
  worker.on("error", (err) => console.error("parent watchdog failed:", err));
  return () => void worker.terminate();
}
