/**
 * Data-parallel scaling on this machine: the same global batch trained by 1 rank × 1 thread and
 * by 2 ranks × 1 thread (Gloo), alternated RUNS times; reports the median step time, the speedup,
 * peak RSS per rank, and the largest loss difference between the two (equivalence).
 *
 *   npx tsx bench/dp-scaling.ts        # RUNS=3 GLOBAL_BATCH=8 SEQ=128 STEPS=8
 */
import { launchRanks } from "../src/actors/rank-launcher.ts";

const runs = Number(process.env.RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
interface Out { world: number; stepMs: number; losses: number[]; rssMiB: number; params: number }

async function run(world: number): Promise<Out> {
  const lines: string[] = [];
  const job = await launchRanks({ script: "bench/dp-worker.ts", nprocPerNode: world, env: { ...process.env, OMP_NUM_THREADS: "1" }, out: (l) => lines.push(l), err: (l) => lines.push(l) });
  const r = await job.result;
  const line = lines.map((l) => /\{.*\}/.exec(l)?.[0]).find((x) => x !== undefined);
  if (r.exitCode !== 0 || !line) throw new Error(`world ${world} failed: ${lines.join("\n")}`);
  return JSON.parse(line) as Out;
}

const one: Out[] = [];
const two: Out[] = [];
for (let i = 0; i < runs; i++) {
  one.push(await run(1));
  two.push(await run(2));
}
const lossDiff = Math.max(...one[0]!.losses.map((l, i) => Math.abs(l - two[0]!.losses[i]!)));
const a = median(one.map((o) => o.stepMs));
const b = median(two.map((o) => o.stepMs));
console.log(`model ${(one[0]!.params / 1e6).toFixed(1)}M params, global batch ${process.env.GLOBAL_BATCH ?? 8} × ${process.env.SEQ ?? 128} tokens`);
console.log(`| ranks × threads | step ms (median of ${runs}) | speedup | peak RSS per rank MiB |`);
console.log(`|---|---|---|---|`);
console.log(`| 1 × 1 | ${a.toFixed(0)} | 1.00× | ${median(one.map((o) => o.rssMiB)).toFixed(0)} |`);
console.log(`| 2 × 1 | ${b.toFixed(0)} | ${(a / b).toFixed(2)}× | ${median(two.map((o) => o.rssMiB)).toFixed(0)} |`);
console.log(`max |loss(1 rank) − loss(2 ranks)| over ${one[0]!.losses.length} steps: ${lossDiff.toExponential(2)}`);
