/**
 * Every live actor child process of this controller, so that no exit path leaves orphans:
 * normal exit, uncaught error, SIGINT/SIGTERM. (Children also exit on their own when the
 * controller is gone — IPC disconnect plus a parent watchdog, see child-main.ts — which covers a
 * controller killed with SIGKILL.)
 *
 * Signals: when the application handles SIGINT/SIGTERM itself (a graceful stop: finish the step,
 * checkpoint, stop the actors), the registry leaves the children alone and only kills what is left
 * at exit; when nobody handles the signal, it kills the children and re-raises it (the default:
 * die by the signal). `beginShutdown()` marks the controller as stopping: children that exit from
 * then on are not reported as failures, so services do not restart them.
 */
import type { ChildProcess } from "node:child_process";

/** Environment variable that tells a child process its owner's pid (for its parent watchdog). */
export const OWNER_PID_ENV = "TORCHFORGE_OWNER_PID";

const live = new Set<ChildProcess>();
let installed = false;
let stopping = false;

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
  // Someone else listens (e.g. the apps' graceful Ctrl-C): they stop the actors; 'exit' kills the rest.
  if (process.listenerCount(signal) > 1) {
    stopping = true;
    return;
  }
  killAll();
  // Restore the default behaviour when nobody else handles the signal: exit as if killed by it.
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
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

/** Marks this controller as stopping: child exits are expected from now on (no restarts). */
export function beginShutdown(): void {
  stopping = true;
}

/** Whether `beginShutdown()` was called or a stop signal arrived. */
export function isShuttingDown(): boolean {
  return stopping;
}

/** SIGKILLs every live child now (the second Ctrl-C, a crash path). */
export function killAllChildren(): void {
  killAll();
}
