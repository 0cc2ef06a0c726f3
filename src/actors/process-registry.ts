/**
 * Every live actor child process of this controller, so that no exit path leaves orphans:
 * normal exit, uncaught error, SIGINT/SIGTERM. (Children also exit on their own when the IPC
 * channel to the controller closes, which covers a controller killed with SIGKILL.)
 */
import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Restore the default behaviour when nobody else handles the signal: exit as if killed by it.
  process.removeListener(signal, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

export function registerChild(child: ChildProcess): void {
  install();
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** PIDs of actor child processes still alive (for tests and diagnostics). */
export function liveChildPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
