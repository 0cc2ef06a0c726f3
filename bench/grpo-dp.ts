/**
 * Data-parallel GRPO on this machine: the same global batch (GLOBAL_BATCH episodes a step) run by
 * the GRPO app as 1 rank × 2 threads and as 2 ranks × 1 thread (each rank generating its half of
 * the prompts with its own colocated engine, then one DP train step), alternated RUNS times.
 * Reports the median step time over steps 2..STEPS (step 1 warms up) as steps/s, the median of the
 * runs, the peak RSS per rank, and the load average around the runs.
 *
 *   npx tsx bench/grpo-dp.ts        # RUNS=3 STEPS=5 GLOBAL_BATCH=32 MAX_NEW=16 MODEL=smollm2 (tiny when absent)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { homedir, loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const runs = Number(process.env.RUNS ?? 3);
const steps = Number(process.env.STEPS ?? 5);
const globalBatch = Number(process.env.GLOBAL_BATCH ?? 32);
const maxNew = Number(process.env.MAX_NEW ?? 16);
const smollm2 = join(homedir(), ".cache/torchforge/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
const useSmol = (process.env.MODEL ?? "smollm2") === "smollm2" && existsSync(smollm2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), "bench-grpo-dp-"));
const config = join(dir, "grpo.yaml");
writeFileSync(
  config,
  JSON.stringify({
    model: useSmol ? { path: smollm2 } : { preset: "tiny", seed: 1 },
    dataset: { path: "arithmetic:add-small", split: "train", prompt_format: useSmol ? "chat" : "raw" },
    training: { learning_rate: 1e-5, seq_len: 128, steps, seed: 0 },
    grpo: { n_samples: 4, beta: 0, max_new_tokens: maxNew, max_prompt_tokens: 80, filter_zero_variance: false, max_policy_age: 1 },
    rewards: ["math", "length"],
    checkpoint: { enable: false, folder: "${output_dir}/ckpt" },
    eval: { eval_every_n_steps: null },
  }),
);

/** Peak VmHWM (MiB) of `root` and its descendants, sampled until `done`. */
function watchRss(root: number): { stop: () => number[] } {
  const peaks = new Map<number, number>();
  const tick = () => {
    const parent = new Map<number, number>();
    for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      } catch {
        // gone
      }
    }
    for (const pid of parent.keys()) {
      let q: number | undefined = pid;
      while (q !== undefined && q !== root && q > 1) q = parent.get(q);
      if (q !== root) continue;
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
        peaks.set(pid, Math.max(peaks.get(pid) ?? 0, kb / 1024));
      } catch {
        // gone
      }
    }
  };
  const timer = setInterval(tick, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return [...peaks.values()].filter((m) => m > 100); // the ranks, not the launcher's helpers
    },
  };
}

async function run(ranks: number): Promise<{ stepS: number; rssMiB: number; rewardMean: number }> {
  const out = join(dir, `run-${ranks}-${Date.now()}`);
  const threads = String(2 / ranks);
  const args = ["--import", "tsx", "apps/grpo/main.ts", "--config", config, `output_dir=${out}`];
  args.push(`training.batch_size=${globalBatch / ranks}`, `services.trainer.procs=${ranks}`);
  const child = spawn(process.execPath, args, { env: { ...process.env, TORCHFORGE_NUM_THREADS: threads }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const rss = watchRss(child.pid!);
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const peaks = rss.stop();
  if (code !== 0) throw new Error(`${ranks} rank(s) failed (${code}):\n${log}`);
  const rows = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
  const timed = rows.filter((r) => r.step >= 2).map((r) => r["main_perf/step_s"]!);
  return { stepS: median(timed), rssMiB: Math.max(...peaks), rewardMean: rows.at(-1)!["reward/mean"]! };
}

const loadBefore = loadavg()[0]!;
const one: Awaited<ReturnType<typeof run>>[] = [];
const two: Awaited<ReturnType<typeof run>>[] = [];
for (let i = 0; i < runs; i++) {
  one.push(await run(1));
  two.push(await run(2));
}
const loadAfter = loadavg()[0]!;
const a = median(one.map((o) => o.stepS));
const b = median(two.map((o) => o.stepS));
const range = (xs: number[]) => `${(1 / Math.max(...xs)).toFixed(3)}–${(1 / Math.min(...xs)).toFixed(3)}`;
console.log(
  `model ${useSmol ? "SmolLM2-135M-Instruct (Q4_1 GGUF → float32)" : "preset tiny"}, global batch ${globalBatch} episodes ` +
    `(${globalBatch / 4} prompts × n=4, ≤ ${maxNew} new tokens), steps 2..${steps}, median of ${runs} alternating runs; ` +
    `load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
);
console.log(`| ranks × threads | steps/s (range) | s/step | speedup | peak RSS per rank MiB |`);
console.log(`|---|---|---|---|---|`);
console.log(`| 1 × 2 | ${(1 / a).toFixed(3)} (${range(one.map((o) => o.stepS))}) | ${a.toFixed(2)} | 1.00× | ${median(one.map((o) => o.rssMiB)).toFixed(0)} |`);
console.log(
  `| 2 × 1 | ${(1 / b).toFixed(3)} (${range(two.map((o) => o.stepS))}) | ${b.toFixed(2)} | ${(a / b).toFixed(2)}× | ${median(two.map((o) => o.rssMiB)).toFixed(0)} |`,
);
console.log(`last-step reward/mean, 1 rank vs 2 ranks (same prompts and samples): ${one[0]!.rewardMean} vs ${two[0]!.rewardMean}`);
