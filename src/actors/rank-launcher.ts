/**
 * Starts the ranks of one node of a data-parallel job, the way torchrun does: one process per
 * local rank with `RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR` and
 * `MASTER_PORT` set, each output line prefixed with its rank. The job fails fast: the first rank
 * that exits with an error (or a signal) is named, the others get SIGTERM and, after a grace
 * period, SIGKILL. Ranks also die when the launcher itself is SIGKILLed: a preloaded watchdog
 * (parent-watchdog.ts) ends a rank whose parent is gone, since Node has no prctl(PDEATHSIG).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createServer } from "node:net";
import { FROM_SOURCES, siblingModule } from "../util/package-root.ts";

export interface RankLauncherOptions {
  /** The program each rank runs: a .ts/.mjs/.js file run by this Node (under tsx for .ts). */
  script: string;
  args?: readonly string[];
  nprocPerNode: number;
  /** @default 1 */
  nnodes?: number;
  /** @default 0 */
  nodeRank?: number;
  /** @default 127.0.0.1 */
  masterAddr?: string;
  /** @default a free port on a single node, 29500 across nodes */
  masterPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when stopping ranks. @default 5 */
  graceS?: number;
  /** Where rank output and launcher messages go. @default process.stdout / process.stderr */
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export interface RankExit {
  rank: number;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** 0 when every rank exited 0; else the first failing rank's code (128 + signal number for a signal). */
  exitCode: number;
  exits: RankExit[];
  /** The first rank that failed, when one did. */
  failed?: RankExit;
}

export class RankLauncherError extends Error {
  override name = "RankLauncherError";
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RankLauncherError(`${name} must be an integer ≥ ${min}; got ${value}`);
}

/** A port free on `host` right now (the OS picks it), for a rendezvous. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const a = server.address();
      server.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new RankLauncherError("no free port"))));
    });
  });
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGABRT: 6 };

/** A running job: `result` resolves when every rank has exited; `stop` ends it early. */
export interface LaunchedJob {
  readonly pids: readonly number[];
  readonly result: Promise<LaunchResult>;
  /** SIGTERM to every rank, SIGKILL after the grace period (a second call kills at once). */
  stop(reason?: string): void;
  /** SIGINT/SIGTERM/SIGHUP to this process stop the job (a second one kills its ranks). */
  forwardSignals(): void;
}

export async function launchRanks(options: RankLauncherOptions): Promise<LaunchedJob> {
  const nproc = options.nprocPerNode;
  const nnodes = options.nnodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  checkInt("nprocPerNode", nproc, 1);
  checkInt("nnodes", nnodes, 1);
  checkInt("nodeRank", nodeRank, 0);
  if (nodeRank >= nnodes) throw new RankLauncherError(`nodeRank must be below nnodes (${nnodes}); got ${nodeRank}`);
  const masterAddr = options.masterAddr ?? "127.0.0.1";
  const masterPort = options.masterPort ?? (nnodes === 1 ? await freePort(masterAddr) : 29500);
  checkInt("masterPort", masterPort, 1);
  const out = options.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = options.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const graceMs = (options.graceS ?? 5) * 1000;
  const worldSize = nproc * nnodes;
  // tsx for a .ts script, and for the watchdog itself when this package runs from its sources.
  const loader = options.script.endsWith(".ts") || FROM_SOURCES ? ["--import", import.meta.resolve("tsx")] : [];
  const watchdog = ["--import", siblingModule("./parent-watchdog.ts", import.meta.url).href];

  const children: ChildProcess[] = [];
  const exits: RankExit[] = [];
  let failed: RankExit | undefined;
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;

  const stop = (reason?: string) => {
    if (reason) err(`forge launch: ${reason}`);
    if (stopping) {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      return;
    }
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    killTimer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }, graceMs);
    killTimer.unref();
  };

  const done = new Promise<LaunchResult>((resolveAll) => {
    for (let local = 0; local < nproc; local++) {
      const rank = nodeRank * nproc + local;
      const child = spawn(process.execPath, [...loader, ...watchdog, options.script, ...(options.args ?? [])], {
        env: {
          ...(options.env ?? process.env),
          RANK: String(rank),
          LOCAL_RANK: String(local),
          WORLD_SIZE: String(worldSize),
          LOCAL_WORLD_SIZE: String(nproc),
          GROUP_RANK: String(nodeRank),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
          TORCHFORGE_LAUNCHER_PID: String(process.pid),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      createInterface({ input: child.stdout! }).on("line", (l) => out(`[rank${rank}] ${l}`));
      createInterface({ input: child.stderr! }).on("line", (l) => err(`[rank${rank}] ${l}`));
      child.on("error", (e) => err(`forge launch: rank ${rank} could not start: ${e.message}`));
      child.on("close", (code, signal) => {
        const exit: RankExit = { rank, pid: child.pid ?? -1, code, signal };
        exits.push(exit);
        if ((code !== 0 || signal !== null) && failed === undefined && !stopping) {
          failed = exit;
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const others = children.filter((c) => c !== child && c.exitCode === null && c.signalCode === null).length;
          stop(`rank ${rank} (pid ${exit.pid}) ${how}; stopping the other ${others} rank(s)`);
        }
        if (exits.length === nproc) {
          if (killTimer) clearTimeout(killTimer);
          const exitCode = failed === undefined ? (stopping ? 130 : 0) : failed.signal ? 128 + (SIGNAL_NUMBERS[failed.signal] ?? 1) : (failed.code ?? 1);
          resolveAll({ exitCode, exits: exits.sort((a, b) => a.rank - b.rank), ...(failed ? { failed } : {}) });
        }
      });
    }
  });
  const forwardSignals = () => {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop(`${signal}: stopping ${nproc} rank(s)`));
  };
  return { pids: children.map((c) => c.pid ?? -1), result: done, stop, forwardSignals };
}
