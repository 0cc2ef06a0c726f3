/**
 * Fault injection on the default GRPO task (apps/grpo/default.yaml) in separate placement with 2
 * generator replicas: each fault case starts a real `forge grpo` (bin/forge.ts under tsx), waits
 * for training step `--after`, injects the fault, and prints one line:
 *   fault | outcome (exit, time to exit) | steps lost | orphans 5 s after the exit | /dev/shm leftovers | resume
 * "steps lost" = the last step the run printed minus the step of its checkpoint. Then the resume
 * check: the default task, colocated (the placement that claims determinism: rollouts and
 * training alternate on one thread), N steps + SIGINT + resume to M against an uninterrupted M-step
 * run, comparing the final weights byte for byte and the last metrics row.
 *
 *   node --import tsx bench/fault-injection.ts [--after 2] [--only name,name] [--no-resume] [--tiny]
 *
 * Add a fault by appending to FAULTS: `inject` gets the run and its processes (wrapper, controller,
 * generator replicas) and does anything (kill one replica, kill all, stop a process...); `expect`
 * says whether a graceful stop (checkpoint) is the right outcome. The run helpers live in
 * tests/cli/fixtures/forge-run.ts (shared with the signal tests).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ForgeRun,
  checkpointStep,
  killRun,
  lastStep,
  roles,
  shmLeftovers,
  startForge,
  survivorsAfter,
  waitForStep,
} from "../tests/cli/fixtures/forge-run.ts";

type Roles = ReturnType<typeof roles>;

export interface FaultCase {
  name: string;
  /** Start through `npx forge` instead of the forge wrapper. */
  via?: "forge" | "npx";
  inject(run: ForgeRun, procs: Roles): void | Promise<void>;
  /** The run should stop gracefully (checkpoint) rather than be cut off. */
  graceful: boolean;
  /** The run is expected to keep going after the fault (replica faults): stop it with SIGINT after `keepGoingMs`. */
  keepGoingMs?: number;
}

const signal = (target: "controller" | "wrapper" | "npx" | "npx-group", sig: NodeJS.Signals) => (run: ForgeRun, p: Roles) => {
  const pid = target === "controller" ? p.controller : target === "wrapper" ? p.wrapper : run.proc.pid;
  if (pid === undefined) throw new Error(`no ${target} process`);
  process.kill(target === "npx-group" ? -pid : pid, sig);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const FAULTS: FaultCase[] = [
  { name: "SIGINT controller", inject: signal("controller", "SIGINT"), graceful: true },
  { name: "SIGTERM controller", inject: signal("controller", "SIGTERM"), graceful: true },
  { name: "SIGKILL controller", inject: signal("controller", "SIGKILL"), graceful: false },
  { name: "SIGINT wrapper", inject: signal("wrapper", "SIGINT"), graceful: true },
  {
    name: "SIGINT wrapper x2",
    inject: async (run, p) => {
      signal("wrapper", "SIGINT")(run, p);
      await sleep(1500);
      signal("wrapper", "SIGINT")(run, p);
    },
    graceful: false,
  },
  { name: "SIGTERM wrapper", inject: signal("wrapper", "SIGTERM"), graceful: true },
  { name: "SIGKILL wrapper", inject: signal("wrapper", "SIGKILL"), graceful: true },
  { name: "Ctrl-C npx (group)", via: "npx", inject: signal("npx-group", "SIGINT"), graceful: true },
  { name: "SIGTERM npx", via: "npx", inject: signal("npx", "SIGTERM"), graceful: true },
  { name: "SIGKILL npx", via: "npx", inject: signal("npx", "SIGKILL"), graceful: true },
  // Replica faults (kill one replica, kill all) go here, e.g.
  // { name: "SIGKILL one replica", inject: (_r, p) => process.kill(p.actors[0]!, "SIGKILL"), graceful: true, keepGoingMs: 10_000 },
];

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const after = Number(opt("--after") ?? 2);
const only = opt("--only")?.split(",");
const tiny = args.includes("--tiny");
const DEFAULT = join(ROOT, "apps", "grpo", "default.yaml");
// The eval (200 prompts) would dominate the runs; faults are about training.
const FAST = ["eval.eval_every_n_steps=null"];

// Runs are started in their own process groups: end them if this script is stopped.
const active = new Set<ForgeRun>();
process.on("exit", () => active.forEach(killRun));
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => process.exit(130));
function start(o: Parameters<typeof startForge>[0]): ForgeRun {
  const run = startForge(o);
  active.add(run);
  void run.exit.then(() => active.delete(run));
  return run;
}

async function runFault(f: FaultCase): Promise<string> {
  const run = start({ via: f.via, configPath: tiny ? undefined : DEFAULT, overrides: tiny ? [] : FAST });
  try {
    await waitForStep(run, after, 180_000);
    const procs = roles(run);
    const t0 = Date.now();
    await f.inject(run, procs);
    if (f.keepGoingMs !== undefined) {
      await sleep(f.keepGoingMs);
      if (run.proc.exitCode === null) process.kill(procs.wrapper ?? run.proc.pid!, "SIGINT");
    }
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000));
    const exit = await Promise.race([run.exit, timeout]);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const outcome = exit === "timeout" ? "no exit in 60 s" : `exit ${exit[0] ?? exit[1]} after ${secs} s`;
    const survivors = await survivorsAfter(run, 5000);
    const ckpt = checkpointStep(run);
    const lost = ckpt === undefined ? `${lastStep(run)} (no checkpoint)` : String(Math.max(0, lastStep(run) - ckpt));
    const shm = shmLeftovers(procs.controller);
    const verdict = exit !== "timeout" && survivors.length === 0 && shm.length === 0 && (!f.graceful || ckpt !== undefined) ? "ok" : "FAIL";
    const why =
      verdict === "ok"
        ? ""
        : "\n    " + run.output().split("\n").filter((l) => l.trim() && !/^step \d+\//.test(l)).slice(-6).join("\n    ");
    return [
      f.name.padEnd(20),
      outcome.padEnd(22),
      `steps lost ${lost}`.padEnd(26),
      `orphans ${survivors.length}`.padEnd(10),
      `shm left ${shm.length}`.padEnd(11),
      "resume n/a (separate placement is not deterministic)",
      verdict,
    ].join(" | ") + why;
  } catch (err) {
    return `${f.name.padEnd(20)} | error: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    killRun(run);
  }
}

/** sha256 of every file of a checkpoint's model folder. */
function weightsHash(run: ForgeRun, step: number): string {
  const dir = join(run.dir, "run", "ckpt", `step-${step}`, "model");
  const h = createHash("sha256");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".safetensors")).sort()) h.update(readFileSync(join(dir, f)));
  return h.digest("hex").slice(0, 12);
}

function lastMetrics(run: ForgeRun): Record<string, number> {
  const path = join(run.dir, "run", "metrics.jsonl");
  if (!existsSync(path)) return {};
  const rows = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
  return rows.at(-1) ?? {};
}

async function resumeCheck(): Promise<string> {
  const total = after + 2;
  // Few steps: the default warmup (10) must fit under them.
  const common = { placement: "colocated" as const, replicas: 1, steps: total, configPath: tiny ? undefined : DEFAULT, overrides: tiny ? [] : [...FAST, "lr_scheduler.warmup_steps=1"] };
  const straight = start(common);
  const parts: ForgeRun[] = [straight];
  try {
    const [code] = await straight.exit;
    if (code !== 0) return `resume check: the uninterrupted run failed (exit ${code})`;
    const first = start(common);
    parts.push(first);
    await waitForStep(first, after, 180_000);
    process.kill(roles(first).wrapper!, "SIGINT");
    await first.exit;
    const stoppedAt = checkpointStep(first);
    const second = start({ ...common, dir: first.dir, resume: true });
    parts.push(second);
    const [code2] = await second.exit;
    if (code2 !== 0) return `resume check: the resumed run failed (exit ${code2})`;
    const same = weightsHash(straight, total) === weightsHash(second, total);
    const a = lastMetrics(straight);
    const b = lastMetrics(second);
    const keys = ["loss/value", "reward/mean", "trainer/grad_norm"].filter((k) => k in a);
    const diff = keys.map((k) => `${k} ${a[k]} vs ${b[k]}`).join(", ");
    return `resume (colocated): ${total} steps straight vs SIGINT at step ${stoppedAt} + --resume to ${total} | weights ${same ? "identical" : "DIFFER"} | last row: ${diff}`;
  } catch (err) {
    return `resume check: error: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    for (const r of parts) killRun(r);
  }
}

console.log(`fault injection: ${tiny ? "tiny random model" : "default task (apps/grpo/default.yaml)"}, separate placement, 2 generator replicas, fault after step ${after}`);
for (const f of FAULTS.filter((f) => !only || only.includes(f.name))) console.log(await runFault(f));
if (!args.includes("--no-resume")) console.log(await resumeCheck());
