// Data-parallel GRPO (services.trainer.procs: 2, relaunched through the rank launcher): each rank
// generates its share of the step's prompts with its own colocated engine, all ranks take one
// synchronized DP train step; rank 0 alone logs (global figures), evaluates and checkpoints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../src/actors/rank-launcher.ts";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { readMetricsJsonl } from "../../src/observability/index.ts";
import { optim, safetensors, torch } from "../../src/torch/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";
import { resolveModel } from "../../apps/shared/resolve-model.ts";

const BASE = {
  model: { preset: "tiny", seed: 1 },
  dataset: { path: "arithmetic:add-1d", split: "train", eval_split: "test", prompt_format: "raw" },
  training: { batch_size: 8, learning_rate: 1e-3, steps: 2, seed: 0 },
  grpo: { n_samples: 4, beta: 0, max_new_tokens: 10, max_prompt_tokens: 24, filter_zero_variance: false, max_policy_age: 1 },
  // Varies with the sampled text (a random tiny model never answers right): non-zero advantages.
  rewards: ["math", "tests/apps/fixtures/text-hash-reward.ts#textHashReward"],
  checkpoint: { folder: "${output_dir}/ckpt", interval: 1 },
  eval: { eval_every_n_steps: null, num_prompts: 8 },
};

function writeConfig(dir: string): string {
  const path = join(dir, "grpo.yaml");
  writeFileSync(path, JSON.stringify(BASE)); // JSON is YAML
  return path;
}

interface Cli {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
  output: () => string;
}

/** `node --import tsx <args>` with one libtorch thread, stdout and stderr collected together. */
function startNode(args: string[]): Cli {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    env: { ...process.env, OMP_NUM_THREADS: "1", TORCHFORGE_NUM_THREADS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on("close", (code) => resolve({ code, out })));
  return { child, done, output: () => out };
}

const startCli = (config: string, overrides: string[]) => startNode(["apps/grpo/main.ts", "--config", config, ...overrides]);
const runCli = (config: string, overrides: string[]) => startCli(config, overrides).done;

const metricsOf = (dir: string) => readMetricsJsonl(join(dir, "metrics.jsonl")) as unknown as Record<string, number>[];
/** Timings differ run to run; everything else must be equal. */
const deterministic = (r: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(r).filter(([k]) => k !== "time" && !k.startsWith("main_perf/") && !k.endsWith("_per_s")));

function checkpointWeights(dir: string, step: number): Map<string, Buffer> {
  const model = join(dir, "ckpt", `step-${step}`, "model");
  return new Map(readdirSync(model).filter((f) => f.endsWith(".safetensors")).map((f) => [f, readFileSync(join(model, f))]));
}

const digests = (out: string) => [...out.matchAll(/\[rank(\d)\] rank \1 of 2: final weights sha256 ([0-9a-f]{64})/g)].map((m) => m[2]!);

async function until(what: string, cond: () => boolean, timeoutMs = 45_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stepsLogged = (dir: string) => (existsSync(join(dir, "metrics.jsonl")) ? metricsOf(dir).length : 0);

test("2 ranks: the run completes, rank 0 logs global metrics once per step and checkpoints once, rank weights are bitwise equal", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-dp-"));
  const run = await runCli(writeConfig(dir), [`output_dir=${join(dir, "out")}`, "--trainer.procs", "2", "eval.eval_every_n_steps=2"]);
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /\[rank0\] GRPO: .*batch 8 per rank × 2 data-parallel ranks/);
  assert.doesNotMatch(run.out, /\[rank1\] (GRPO|eval|step)/, "rank 1 logs nothing but its digest");
  assert.equal((run.out.match(/eval @ step 2/g) ?? []).length, 1, "eval runs on rank 0 only");
  const d = digests(run.out);
  assert.equal(d.length, 2, run.out);
  assert.equal(d[0], d[1], "every rank ends with the same weights");
  const rows = metricsOf(join(dir, "out"));
  assert.deepEqual(
    rows.map((r) => r.step),
    [0, 1, 2],
    "each step logged once",
  );
  // Global figures (the mean over both ranks' episodes) are checked against one process in the next test.
  assert.equal(typeof rows[1]!["reward/mean"], "number");
  assert.equal(rows[1]!["eval/accuracy"], undefined, "no eval at step 1");
  assert.equal(typeof rows[2]!["eval/accuracy"], "number");
  assert.deepEqual(readdirSync(join(dir, "out", "ckpt")).sort(), ["latest", "step-1", "step-2"]);
  const ckpt = JSON.parse(readFileSync(join(dir, "out", "ckpt", "step-2", "trainer-state.json"), "utf8"));
  assert.equal(ckpt.extra.replayBuffers.length, 2, "the checkpoint holds both ranks' replay buffers");
});

test("one step on 2 ranks × 8 episodes equals one step on 1 rank × 16 (same prompts, same samples) to 1e-6", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-dp-eq-"));
  // Adam's first step is lr·g/(|g| + eps): with eps ≫ |g| (clipped to norm 1) it is ≈ (lr/eps)·g = g,
  // so comparing weights compares the two steps' gradients. (With eps 1e-8 it is ≈ lr·sign(g), which
  // blows rounding noise in near-zero gradient entries up to lr.)
  const linear = ["training.steps=1", "optimizer.eps=1000", "training.learning_rate=1000"];
  const two = await runCli(writeConfig(dir), [`output_dir=${join(dir, "two")}`, "trainer.procs=2", ...linear]);
  assert.equal(two.code, 0, two.out);
  const { config, snake } = loadGrpoConfig({ data: { ...BASE, output_dir: join(dir, "one") }, overrides: [...linear, "training.batch_size=16"] });
  await runGrpo({ config, rawConfig: snake, log: () => undefined, progress: false });
  const [a, b] = [metricsOf(join(dir, "two"))[0]!, metricsOf(join(dir, "one"))[0]!];
  // The same episodes: rewards and lengths are equal exactly.
  // Rank 0 logs the figures of all 16 episodes, not of its own 8.
  for (const k of ["reward/mean", "reward/textHashReward", "generator/response_length", "trainer/tokens"]) {
    assert.equal(typeof b[k], "number", `${k} logged`);
    assert.equal(a[k], b[k], `${k}: 2 ranks ${a[k]} vs 1 rank ${b[k]}`);
  }
  for (const k of ["loss/value", "trainer/grad_norm"]) {
    assert.ok(Math.abs(a[k]! - b[k]!) <= 1e-6 * Math.max(1, Math.abs(b[k]!)), `${k}: 2 ranks ${a[k]} vs 1 rank ${b[k]}`);
  }
  assert.ok(b["trainer/grad_norm"]! > 0, "the step had a gradient");
  const wa = safetensors.loadSafetensors(join(dir, "two", "ckpt", "step-1", "model", "model.safetensors"));
  const wb = safetensors.loadSafetensors(join(dir, "one", "ckpt", "step-1", "model", "model.safetensors"));
  torch.manualSeed(0); // as the app seeds before building the preset
  const start = resolveModel({ preset: "tiny", seed: 1, dtype: "float32" }).model;
  const ws = new Map(start.namedParameters());
  let maxDiff = 0;
  let moved = 0;
  for (const [name, t] of wb) {
    const x = wa.get(name)!.toFlatArray();
    const s0 = ws.get(name)!.toFlatArray();
    t.toFlatArray().forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - x[i]!));
      moved = Math.max(moved, Math.abs(v - s0[i]!));
    });
  }
  torch.dispose([...wa.values(), ...wb.values()]);
  start.dispose();
  assert.ok(moved > 1e-2, `the step moved the weights by ${moved}`);
  assert.ok(maxDiff <= 1e-6, `weights after one step differ by ${maxDiff} (moved ${moved})`);
});

test("two nodes (forge launch --nnodes 2, one rank each, rendezvous over TCP) train exactly as 2 ranks on one node", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-2node-"));
  const config = writeConfig(dir);
  const local = await runCli(config, [`output_dir=${join(dir, "local")}`, "--trainer.procs", "2"]);
  assert.equal(local.code, 0, local.out);
  const port = await freePort();
  const node = (rank: number) =>
    startNode([
      "bin/forge.ts", "launch", "--nnodes", "2", "--node-rank", String(rank), "--nproc-per-node", "1",
      "--master-addr", "127.0.0.1", "--master-port", String(port),
      "grpo", "--config", config, `output_dir=${join(dir, "nodes")}`, "--trainer.procs", "2",
    ]).done;
  const [n0, n1] = await Promise.all([node(0), node(1)]);
  assert.equal(n0.code, 0, n0.out);
  assert.equal(n1.code, 0, n1.out);
  const d = digests(n0.out + n1.out);
  assert.equal(d.length, 2, n0.out + n1.out);
  assert.deepEqual(d, digests(local.out), "the same final weights, bitwise, as the single-node run");
  assert.doesNotMatch(n1.out, /GRPO:|step \d|checkpoint/, "node 1 (global rank 1) neither logs nor checkpoints");
  assert.deepEqual(readdirSync(join(dir, "nodes", "ckpt")).sort(), ["latest", "step-1", "step-2"], "global rank 0 checkpointed once per interval");
  assert.deepEqual(checkpointWeights(join(dir, "nodes"), 2), checkpointWeights(join(dir, "local"), 2));
});

test("parallelism.zero_stage: 1 (sharded optimizer state) on 2 ranks trains the same weights as unsharded ranks; the checkpoint holds every parameter's state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-zero1-"));
  const sharded = await runCli(writeConfig(dir), [`output_dir=${join(dir, "sharded")}`, "trainer.procs=2", "parallelism.zero_stage=1"]);
  assert.equal(sharded.code, 0, sharded.out);
  assert.match(sharded.out, /\[rank0\] GRPO: .*2 data-parallel ranks, optimizer state sharded \(ZeRO-1\)/);
  const d = digests(sharded.out);
  assert.equal(d.length, 2, sharded.out);
  assert.equal(d[0], d[1], "every rank ends with the same weights");
  const plain = await runCli(writeConfig(dir), [`output_dir=${join(dir, "plain")}`, "trainer.procs=2"]);
  assert.equal(plain.code, 0, plain.out);
  assert.equal(digests(plain.out)[0], d[0], "sharded and unsharded ranks end with bitwise-equal weights");
  const states = ["sharded", "plain"].map((o) => optim.loadOptimizerState(join(dir, o, "ckpt", "step-2", "optimizer.safetensors")));
  const model = resolveModel({ preset: "tiny", seed: 1, dtype: "float32" }).model;
  const count = model.parameters().length;
  model.dispose();
  assert.equal(Object.keys(states[0]!.state).length, count, "rank 0 wrote both ranks' state");
  assert.deepEqual(Object.keys(states[0]!.state), Object.keys(states[1]!.state));
  torch.dispose(states.map((s) => s.state));
});

test("2-rank resume is exact: 2 steps + --resume to 3 equals 3 straight steps (per-rank replay buffers with leftovers)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-dp-resume-"));
  const config = writeConfig(dir);
  // batch 6 of n=4 groups: each rank generates 2 prompts × 4 = 8 episodes a step and keeps 2 for the next.
  const common = ["trainer.procs=2", "training.batch_size=6", "checkpoint.interval=1"];
  const [straight, first] = await Promise.all([
    runCli(config, [`output_dir=${join(dir, "a")}`, ...common, "training.steps=3"]),
    runCli(config, [`output_dir=${join(dir, "b")}`, ...common, "training.steps=2"]),
  ]);
  assert.equal(straight.code, 0, straight.out);
  assert.equal(first.code, 0, first.out);
  const resumed = await runCli(config, [`output_dir=${join(dir, "b")}`, ...common, "training.steps=3", "--resume"]);
  assert.equal(resumed.code, 0, resumed.out);
  assert.match(resumed.out, /\[rank0\] resumed from .*step-2 at step 2/);
  const [ra, rb] = [metricsOf(join(dir, "a")), metricsOf(join(dir, "b"))];
  assert.deepEqual(rb.map((r) => r.step), [1, 2, 3]);
  assert.ok(ra[2]!["buffer/size"]! > 0 || ra[1]!["buffer/size"]! > 0, "leftover episodes were carried across steps");
  assert.deepEqual(rb.map(deterministic), ra.map(deterministic));
  const [wa, wb] = [checkpointWeights(join(dir, "a"), 3), checkpointWeights(join(dir, "b"), 3)];
  for (const [f, bytes] of wa) assert.ok(bytes.equals(wb.get(f)!), `${f} differs between the resumed and the uninterrupted run`);
  assert.deepEqual(digests(resumed.out)[0], digests(straight.out)[0]);
  // Sharded optimizer state (ZeRO-1) resumes exactly too: its checkpoint is consolidated, each rank keeps its share.
  const zero1 = [...common, "parallelism.zero_stage=1"];
  const firstSharded = await runCli(config, [`output_dir=${join(dir, "c")}`, ...zero1, "training.steps=2"]);
  assert.equal(firstSharded.code, 0, firstSharded.out);
  const resumedSharded = await runCli(config, [`output_dir=${join(dir, "c")}`, ...zero1, "training.steps=3", "--resume"]);
  assert.equal(resumedSharded.code, 0, resumedSharded.out);
  assert.match(resumedSharded.out, /optimizer state sharded \(ZeRO-1\)/);
  assert.deepEqual(digests(resumedSharded.out), digests(straight.out), "sharded + resumed = unsharded straight, bitwise");
});

/** The pid of `rank` among the launcher's children (read from their environment). */
function rankPid(launcher: number, rank: number): number | undefined {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== launcher) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`RANK=${rank}`)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

test("a killed rank ends the run on every rank with an error naming it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-dp-kill-"));
  const out = join(dir, "out");
  const cli = startCli(writeConfig(dir), [`output_dir=${out}`, "trainer.procs=2", "training.steps=500", "checkpoint.enable=false"]);
  await until("step 1", () => stepsLogged(out) >= 1 || cli.child.exitCode !== null);
  const victim = rankPid(cli.child.pid!, 1);
  const survivor = rankPid(cli.child.pid!, 0);
  assert.ok(victim && survivor, cli.output());
  const killedAt = Date.now();
  process.kill(victim, "SIGKILL");
  const r = await cli.done;
  assert.equal(r.code, 137, r.out);
  assert.match(r.out, new RegExp(`rank 1 \\(pid ${victim}\\) was killed by SIGKILL; stopping the other 1 rank`));
  assert.ok(Date.now() - killedAt < 30_000, "rank 0 did not wait for a collective timeout");
  assert.throws(() => process.kill(survivor, 0), /ESRCH/, "rank 0 is gone too");
});

test("Ctrl-C stops every rank at one step boundary: one checkpoint, exit 130, and --resume continues", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-dp-stop-"));
  const config = writeConfig(dir);
  const out = join(dir, "out");
  const cli = startCli(config, [`output_dir=${out}`, "trainer.procs=2", "training.steps=500", "checkpoint.interval=1000"]);
  await until("step 1", () => stepsLogged(out) >= 1 || cli.child.exitCode !== null);
  cli.child.kill("SIGINT");
  const r = await cli.done;
  assert.equal(r.code, 130, r.out);
  const steps = metricsOf(out).map((x) => x.step);
  const last = steps.at(-1)!;
  assert.deepEqual(steps, Array.from({ length: last }, (_, i) => i + 1), "each finished step logged once");
  assert.deepEqual(readdirSync(join(out, "ckpt")).sort(), ["latest", `step-${last}`], "one checkpoint, of the last finished step");
  const again = await runCli(config, [`output_dir=${out}`, "trainer.procs=2", `training.steps=${last + 1}`, "--resume"]);
  assert.equal(again.code, 0, again.out);
  assert.equal(metricsOf(out).at(-1)!.step, last + 1);
});
