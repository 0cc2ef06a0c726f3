/**
 * Preloaded (`node --import`) into each rank a launcher starts: when the launcher named by
 * TORCHFORGE_LAUNCHER_PID is gone (SIGKILLed, crashed), this process is re-parented and ends
 * itself, so no rank outlives its job. Node has no prctl(PR_SET_PDEATHSIG); polling the parent
 * PID once a second is the portable substitute. It polls from a worker thread because the main
 * thread may be blocked for minutes in a collective; the worker is unref'd, so it never keeps a
 * rank alive.
 */
import { Worker } from "node:worker_threads";

const launcher = Number(process.env.TORCHFORGE_LAUNCHER_PID);
if (Number.isInteger(launcher) && launcher > 0) {
  if (process.ppid !== launcher) process.exit(137);
  const poll = `
    const { workerData } = require("node:worker_threads");
    setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, "SIGKILL"); }, 1000);
  `;
  new Worker(poll, { eval: true, workerData: launcher }).unref();
}
export {};
