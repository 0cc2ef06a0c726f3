/**
 * Preloaded (`node --import`) into each rank a launcher starts (rank-launcher.ts): when the
 * launcher named by TORCHFORGE_LAUNCHER_PID is gone (SIGKILLed, crashed), this rank ends itself,
 * so no rank outlives its job, even one blocked in a collective (src/util/parent-watchdog.ts polls
 * from a worker thread).
 */
import { watchParent } from "../util/parent-watchdog.ts";

const launcher = Number(process.env.TORCHFORGE_LAUNCHER_PID);
if (Number.isInteger(launcher) && launcher > 0) {
  if (process.ppid !== launcher) process.exit(137);
  watchParent({ parentPid: launcher, signal: "SIGKILL", pollMs: 500 });
}
export {};
