/**
 * Time from `forge slurm` to the first training step, on a single-node Slurm cluster started here
 * (tests/fixtures/slurm-cluster.ts): a 2-rank data-parallel SFT of the tiny preset submitted with
 * `forge slurm --nodes 1 --nproc-per-node 2`, timed until rank 0's log shows step 1. Its peer in
 * the same run, interleaved: the same SFT without Slurm (`forge sft processes.procs=2`, the rank
 * launcher). Both through bin/forge.ts, as `npx forge` runs them. Milestones of the Slurm path:
 * `forge slurm` returned (submitted), the batch script started, rank 0 started, step 1 done.
 *
 *   node --import tsx bench/slurm-first-step.ts [--runs 3]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSlurmCluster, type SlurmCluster } from "../tests/fixtures/slurm-cluster.ts";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FORGE = ["--import", "tsx", "bin/forge.ts"];

const started = await startSlurmCluster();
if ("skip" in started) {
  console.error(`slurm-first-step: ${started.skip}`);
  process.exit(1);
}
const cluster: SlurmCluster = started;
const dir = mkdtempSync(join(tmpdir(), "tf-bench-slurm-"));
const config = join(dir, "tiny.yaml");
writeFileSync(
  config,
  [
    "model: { preset: tiny, seed: 0 }",
    "dataset: { path: 'arithmetic:add-2d', split: train, prompt_format: raw }",
    "training: { learning_rate: 3e-3, seq_len: 64, steps: 2, seed: 0, batch_size: 4 }",
    "checkpoint: { enable: false }",
    "eval: { eval_every_n_steps: null }",
    "processes: { procs: 2 }",
  ].join("\n") + "\n",
);
const env = { ...cluster.env, OMP_NUM_THREADS: "1" };

/** ms from `start` until `file` has a line matching `re` (polled every 20 ms). */
async function until(start: number, file: () => string | undefined, re: RegExp, timeoutMs = 120_000): Promise<number> {
  for (;;) {
    const f = file();
    if (f !== undefined && existsSync(f) && re.test(readFileSync(f, "utf8"))) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${re} in ${f}`);
    await sleep(20);
  }
}

async function viaSlurm(i: number) {
  const out = join(dir, `slurm-${i}`);
  const start = Date.now();
  const child = spawn(process.execPath, [...FORGE, "slurm", "--nodes", "1", "--nproc-per-node", "2", "sft", "--config", config, `output_dir=${out}`], { env, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  await new Promise((r) => child.on("close", r));
  const submitted = Date.now() - start;
  const jobId = /submitted job (\d+)/.exec(stdout)?.[1];
  if (!jobId) throw new Error(`no job id: ${stdout}`);
  const log = (suffix: string) => join(out, "slurm", `forge-sft-tiny-${jobId}${suffix}.out`);
  const batch = await until(start, () => log(""), /forge slurm: job/);
  const rank0 = await until(start, () => log("-rank0"), /forge slurm: rank 0/);
  const step = await until(start, () => log("-rank0"), /step 1\/2/);
  const end = await cluster.waitForJob(jobId);
  if (end.state !== "COMPLETED") throw new Error(`job ${jobId} ${end.state}`);
  return { submitted, batch, rank0, step };
}

async function direct(i: number) {
  const start = Date.now();
  const child = spawn(process.execPath, [...FORGE, "sft", "--config", config, `output_dir=${join(dir, `direct-${i}`)}`], { env, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  let step = -1;
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (step < 0 && /\[rank0\] step 1\/2/.test(stdout)) step = Date.now() - start;
  });
  const code = await new Promise((r) => child.on("close", r));
  if (code !== 0 || step < 0) throw new Error(`forge sft failed: ${stdout}`);
  return step;
}

const slurm: Awaited<ReturnType<typeof viaSlurm>>[] = [];
const launcher: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    slurm.push(await viaSlurm(i));
    launcher.push(await direct(i));
  }
} finally {
  await cluster.stop();
}
const row = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s (${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)}, n=${xs.length})`;
console.log(`| milestone, seconds from the command | median (min–max, n) |`);
console.log(`|---|---|`);
console.log(`| forge slurm returned (job submitted) | ${row(slurm.map((s) => s.submitted))} |`);
console.log(`| batch script started | ${row(slurm.map((s) => s.batch))} |`);
console.log(`| rank 0 started | ${row(slurm.map((s) => s.rank0))} |`);
console.log(`| **step 1 done, forge slurm** | ${row(slurm.map((s) => s.step))} |`);
console.log(`| step 1 done, forge sft processes.procs=2 (no Slurm) | ${row(launcher)} |`);
