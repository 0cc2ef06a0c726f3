/**
 * ZeRO-1 (`shardOptimizerState`) on this machine: the 15.7M-parameter Llama of bench/dp-scaling.ts
 * trained by 2 ranks × 1 thread (Gloo, gradients overlapped with backward), optimizer state
 * replicated vs sharded; the two alternate, RUNS times each. Reports the median step time, the
 * peak RSS and AdamW state of each rank, the load average before and after, and the largest loss
 * difference between the two (they must train the same model).
 *
 *   npx tsx bench/zero1.ts        # RUNS=5 GLOBAL_BATCH=8 SEQ=128 STEPS=8
 */
import os from "node:os";
import { launchRanks } from "../src/actors/rank-launcher.ts";

const runs = Number(process.env.RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
interface Out { stepMs: number; losses: number[]; rssByRank: number[]; stateMiBByRank: number[]; params: number }

async function run(shard: boolean): Promise<Out> {
  const lines: string[] = [];
  const env = { ...process.env, OMP_NUM_THREADS: "1", OVERLAP: "1", SHARD: shard ? "1" : "0" };
  const job = await launchRanks({ script: "bench/dp-worker.ts", nprocPerNode: 2, env, out: (l) => lines.push(l), err: (l) => lines.push(l) });
  const r = await job.result;
  const line = lines.map((l) => /\{.*\}/.exec(l)?.[0]).find((x) => x !== undefined);
  if (r.exitCode !== 0 || !line) throw new Error(`shard=${shard} failed: ${lines.join("\n")}`);
  return JSON.parse(line) as Out;
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");
const loadBefore = load();
const configs = [
  { label: "2 × 1, optimizer state replicated", shard: false, outs: [] as Out[] },
  { label: "2 × 1, optimizer state sharded (ZeRO-1)", shard: true, outs: [] as Out[] },
];
for (let i = 0; i < runs; i++) for (const c of configs) c.outs.push(await run(c.shard));
const ref = configs[0]!.outs[0]!;
console.log(`model ${(ref.params / 1e6).toFixed(1)}M params, global batch ${process.env.GLOBAL_BATCH ?? 8} × ${process.env.SEQ ?? 128} tokens; load average ${loadBefore} before, ${load()} after; ${new Date().toISOString()}`);
console.log(`| 2 ranks × 1 thread | step ms (median of ${runs}) | each run | peak RSS MiB rank 0 / rank 1 (median) | AdamW state MiB rank 0 / rank 1 | max loss diff vs replicated |`);
console.log(`|---|---|---|---|---|---|`);
for (const c of configs) {
  const ms = median(c.outs.map((o) => o.stepMs));
  const diff = Math.max(...c.outs[0]!.losses.map((l, i) => Math.abs(l - ref.losses[i]!)));
  const each = c.outs.map((o) => o.stepMs.toFixed(0)).join(", ");
  const rss = [0, 1].map((r) => median(c.outs.map((o) => o.rssByRank[r]!)).toFixed(0)).join(" / ");
  const state = [0, 1].map((r) => c.outs[0]!.stateMiBByRank[r]!.toFixed(1)).join(" / ");
  console.log(`| ${c.label} | ${ms.toFixed(0)} | ${each} | ${rss} | ${state} | ${diff.toExponential(2)} |`);
}
