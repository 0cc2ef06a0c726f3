/**
 * Shared helpers for the tensor-engine benchmarks. Each benchmark process prints one JSON line
 * per measured case ({bench, case, side: "ts", value, unit}); bench/run-torch-benchmarks.sh
 * interleaves the TS and Python processes and bench/torch-report.ts takes the medians.
 */
import { readFileSync } from "node:fs";

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Median wall time in ms of `iters` calls of `fn`, after at least `warmup` untimed calls and
 * `warmupMs` of warm-up (oneDNN/OpenBLAS first calls and the allocator's first pages are slow).
 */
export function timeMs(fn: () => void, iters: number, warmup = 2, warmupMs = 400): number {
  const w0 = performance.now();
  for (let i = 0; i < warmup || performance.now() - w0 < warmupMs; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

export function emit(bench: string, name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ bench, case: name, side: "ts", value, unit, ...extra }));
}

/** Resident set size in bytes, read from /proc (process.memoryUsage().rss is the same number). */
export function rssBytes(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}
