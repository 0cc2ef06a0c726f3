/**
 * All-reduce bandwidth of our c10d bindings vs PyTorch's torch.distributed on the same libtorch,
 * 2 Gloo ranks on this machine, float32 tensors. TORCH_PYTHON picks the Python side: `python3`
 * (PyPI torch, as the default addon build) or /usr/bin/python3 (Debian's 1.13, for an addon built
 * against it, e.g. TORCHFORGE_NATIVE=native/build-matrix/system/build/Release/torchforge_native.node).
 * Alternates the two sides RUNS times and reports each size's median over runs: time, bus
 * bandwidth (2·(n−1)/n · bytes / time, NCCL's convention) and the ratio ours/torch.
 *
 *   npx tsx bench/allreduce-bandwidth.ts            # RUNS=5 ITERS=10 SIZES=1048576,16777216,67108864
 */
import { launchRanks } from "../src/actors/rank-launcher.ts";

const runs = Number(process.env.RUNS ?? 5);
const python = process.env.TORCH_PYTHON ?? "python3";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function side(script: string, env: NodeJS.ProcessEnv): Promise<Map<number, number>> {
  const lines: string[] = [];
  const job = await launchRanks({ script, nprocPerNode: 2, env: { ...process.env, OMP_NUM_THREADS: "1", ...env }, out: (l) => lines.push(l), err: () => {} });
  const r = await job.result;
  if (r.exitCode !== 0) throw new Error(`${script} failed (exit ${r.exitCode}): ${lines.join("\n")}`);
  const out = new Map<number, number>();
  for (const l of lines) {
    const m = /\{.*\}/.exec(l);
    if (m) {
      const v = JSON.parse(m[0]) as { bytes: number; ms: number };
      out.set(v.bytes, v.ms);
    }
  }
  return out;
}

// The launcher runs .ts under tsx and anything else under node; Python goes through a tiny shim.
const pyShim = "bench/run-python-rank.mjs";
const ts = new Map<number, number[]>();
const pt = new Map<number, number[]>();
for (let r = 0; r < runs; r++) {
  for (const [bytes, ms] of await side("bench/allreduce-worker.ts", {})) ts.set(bytes, [...(ts.get(bytes) ?? []), ms]);
  for (const [bytes, ms] of await side(pyShim, { PY: python, PY_SCRIPT: "bench/allreduce_worker_torch.py" })) pt.set(bytes, [...(pt.get(bytes) ?? []), ms]);
}
const bus = (bytes: number, ms: number) => ((2 * (2 - 1)) / 2) * bytes / (ms / 1000) / 1e9;
console.log(`| size | ours ms | torch.distributed ms | ours GB/s | torch GB/s | ours/torch bandwidth |`);
console.log(`|---|---|---|---|---|---|`);
for (const [bytes, xs] of ts) {
  const a = median(xs);
  const b = median(pt.get(bytes) ?? [NaN]);
  console.log(`| ${(bytes / 2 ** 20).toFixed(0)} MiB | ${a.toFixed(2)} | ${b.toFixed(2)} | ${bus(bytes, a).toFixed(2)} | ${bus(bytes, b).toFixed(2)} | ${(b / a).toFixed(2)}× |`);
}
console.log(`(${runs} alternating runs, median; 2 ranks, 1 thread each, Gloo over loopback)`);
