/**
 * Data-parallel scaling on this machine: the same global batch trained by 1 rank × 1 thread and
 * by 2 ranks × 1 thread (Gloo), the 2-rank runs with gradient buckets all-reduced during backward
 * (the trainer's default) and after it (`overlapGradReduce: false`); the three alternate, RUNS
 * times each. Reports the median step time, the speedup over 1 rank, peak RSS per rank, the
 * load average before and after, and the largest loss difference from 1 rank (equivalence).
 *
 *   npx tsx bench/dp-scaling.ts        # RUNS=3 GLOBAL_BATCH=8 SEQ=128 STEPS=8
 */
import os from "node:os";
import { launchRanks } from "../src/actors/rank-launcher.ts";

const runs = Number(process.env.RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
interface Out { world: number; overlapped: string | null; stepMs: number; losses: number[]; rssMiB: number; params: number }

async function run(world: number, overlap: boolean): Promise<Out> {
  const lines: string[] = [];
  const env = { ...process.env, OMP_NUM_THREADS: "1", OVERLAP: overlap ? "1" : "0" };
  const job = await launchRanks({ script: "bench/dp-worker.ts", nprocPerNode: world, env, out: (l) => lines.push(l), err: (l) => lines.push(l) });
  const r = await job.result;
  const line = lines.map((l) => /\{.*\}/.exec(l)?.[0]).find((x) => x !== undefined);
  if (r.exitCode !== 0 || !line) throw new Error(`world ${world} failed: ${lines.join("\n")}`);
  return JSON.parse(line) as Out;
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");
const loadBefore = load();
const configs = [
  { label: "1 × 1", world: 1, overlap: false, outs: [] as Out[] },
  { label: "2 × 1, reduced after backward", world: 2, overlap: false, outs: [] as Out[] },
  { label: "2 × 1, overlapped with backward", world: 2, overlap: true, outs: [] as Out[] },
];
for (let i = 0; i < runs; i++) for (const c of configs) c.outs.push(await run(c.world, c.overlap));
const base = median(configs[0]!.outs.map((o) => o.stepMs));
const one = configs[0]!.outs[0]!;
console.log(`model ${(one.params / 1e6).toFixed(1)}M params, global batch ${process.env.GLOBAL_BATCH ?? 8} × ${process.env.SEQ ?? 128} tokens; load average ${loadBefore} before, ${load()} after`);
console.log(`| ranks × threads | step ms (median of ${runs}) | each run | speedup | peak RSS per rank MiB | max loss diff vs 1 rank | buckets started in backward |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const c of configs) {
  const ms = median(c.outs.map((o) => o.stepMs));
  const diff = Math.max(...c.outs[0]!.losses.map((l, i) => Math.abs(l - one.losses[i]!)));
  const each = c.outs.map((o) => o.stepMs.toFixed(0)).join(", ");
  console.log(`| ${c.label} | ${ms.toFixed(0)} | ${each} | ${(base / ms).toFixed(2)}× | ${median(c.outs.map((o) => o.rssMiB)).toFixed(0)} | ${diff.toExponential(2)} | ${c.outs[0]!.overlapped ?? "–"} |`);
}
