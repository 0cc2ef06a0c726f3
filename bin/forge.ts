#!/usr/bin/env node
/**
 * The `forge` command. Compiled (dist/bin/forge.js, the installed package's bin) it runs
 * dist/src/cli/forge.js under plain node; from the sources (`npm run forge`, under tsx) it runs
 * src/cli/forge.ts under tsx. Either way in a child process, so the GC flag below applies.
 *
 * This wrapper owns the run's process tree. The controller (the child) leads its own process
 * group, which its actor processes join, so:
 *  - every signal meant for the run comes through here exactly once: Ctrl-C (the terminal signals
 *    only this foreground group now), `kill` of this process, npx forwarding a signal;
 *  - whatever ends this wrapper, its exit SIGKILLs the whole group: nothing of the run survives;
 *  - a controller killed outright leaves its shared-memory store: we reclaim it when it is gone;
 *  - if this wrapper is SIGKILLed, the controller's parent watchdog (src/util/parent-watchdog.ts)
 *    stops it as if by SIGTERM, and the actors' own watchdogs end them when it is gone.
 * Under npx (npm sets npm_command), npx runs us through `sh -c`, and a signal sent to npx kills
 * that shell instead of reaching us: so there we also watch our parent and stop when it is gone.
 * (Not otherwise: `nohup forge ... &` must survive its shell.)
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { commandOf, watchParent } from "../src/util/parent-watchdog.ts";
import { sweepDeadStores } from "../src/store/shm-owner.ts";

const fromSources = import.meta.url.endsWith(".ts");
const entry = fileURLToPath(new URL(fromSources ? "../src/cli/forge.ts" : "../src/cli/forge.js", import.meta.url));
const loader = fromSources ? ["--import", import.meta.resolve("tsx")] : [];
// GC on the main thread: V8's background GC threads would preempt the compute threads
// (see CHILD_NODE_FLAGS in src/actors/child-transport.ts); TORCHFORGE_CONCURRENT_GC=1 keeps them.
const gcFlags = process.env.TORCHFORGE_CONCURRENT_GC === "1" ? [] : ["--single-threaded-gc"];
const child = spawn(process.execPath, [...gcFlags, ...loader, entry, ...process.argv.slice(2)], {
  stdio: "inherit",
  detached: true, // its own process group (see above); not detached from us: we wait for it
  env: { ...process.env, TORCHFORGE_WRAPPER_PID: String(process.pid) },
});

const killGroup = (signal: NodeJS.Signals) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // the group is empty
  }
};
process.on("exit", () => killGroup("SIGKILL"));

// One Ctrl-C can arrive twice (from the terminal and from npx, which forwards it): within a second
// it counts once, so that a single Ctrl-C never becomes the controller's "quit now".
let lastInterrupt = 0;
process.on("SIGINT", () => {
  const now = Date.now();
  if (now - lastInterrupt > 1000) child.kill("SIGINT");
  lastInterrupt = now;
});
for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
// Job control: Ctrl-Z stops the run's whole group, `fg`/`bg` continue it.
process.on("SIGTSTP", () => {
  killGroup("SIGSTOP");
  process.kill(process.pid, "SIGSTOP");
});
process.on("SIGCONT", () => killGroup("SIGCONT"));
if (process.env.npm_command !== undefined) {
  // npx → `sh -c forge …` → us: watch the shell and npx above it.
  const viaShell = ["sh", "dash", "bash"].includes(commandOf(process.ppid) ?? "");
  watchParent({ signal: "SIGTERM", graceMs: 30_000, generations: viaShell ? 2 : 1 });
}

// A controller that died without cleaning up (SIGKILL, a native crash) leaves its shared-memory
// store behind; its owner is gone now, so reclaim it (never a live run's).
child.on("exit", (_code, signal) => void (signal && sweepDeadStores()));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
