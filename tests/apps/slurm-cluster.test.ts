// forge slurm against a real single-node Slurm cluster started here (tests/fixtures/slurm-cluster.ts):
// a 2-rank data-parallel SFT submitted with sbatch, a job inside salloc, SIGTERM inside an
// allocation, a failing rank, a refused submission. Skips, saying why, where Slurm/munge are not
// installed or the daemons cannot start.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSlurmCluster, slurmUnavailable, type SlurmCluster } from "../fixtures/slurm-cluster.ts";
import { forgeSlurm, RANK_SCRIPT, sftConfig } from "./fixtures/slurm-helpers.ts";
import { isAlive } from "../actors/fixtures/helpers.ts";

const unavailable = slurmUnavailable();
describe("forge slurm on a real single-node Slurm cluster", { skip: unavailable ?? false }, () => {
  let cluster: SlurmCluster | undefined;
  let skip: string | undefined;
  before(async () => {
    const started = await startSlurmCluster();
    if ("skip" in started) skip = started.skip;
    else cluster = started;
  });
  after(async () => {
    await cluster?.stop();
  });
  const jobIdOf = (stdout: string) => /forge slurm: submitted job (\d+)/.exec(stdout)?.[1];

  test("sbatch: a 2-rank data-parallel SFT runs to COMPLETED; both ranks log, rank 0 writes the outputs once", async (t) => {
    if (!cluster) return t.skip(skip);
    const dir = mkdtempSync(join(tmpdir(), "tf slurm sft "));
    const out = join(dir, "run out");
    const r = await forgeSlurm(
      ["--nodes", "1", "--nproc-per-node", "2", "--partition", "debug", "--time", "5", "--env", "OMP_NUM_THREADS=1", "sft", "--config", sftConfig(dir), `output_dir=${out}`],
      cluster.env,
    );
    assert.equal(r.code, 0, r.stderr);
    const jobId = jobIdOf(r.stdout);
    assert.ok(jobId, r.stdout);
    assert.ok(r.stdout.includes(`rank logs  ${out}/slurm/forge-sft-tiny-sft-${jobId}-rank0.out`), r.stdout);
    const end = await cluster.waitForJob(jobId, 120_000);
    const logs = readdirSync(join(out, "slurm")).sort();
    const read = (f: string) => readFileSync(join(out, "slurm", f), "utf8");
    assert.deepEqual(end, { state: "COMPLETED", exitCode: "0:0" }, logs.map((f) => `${f}:\n${read(f)}`).join("\n"));
    assert.deepEqual(logs, [`forge-sft-tiny-sft-${jobId}-rank0.out`, `forge-sft-tiny-sft-${jobId}-rank1.out`, `forge-sft-tiny-sft-${jobId}.out`, "forge-sft-tiny-sft.sbatch"]);
    const port = 10000 + (Number(jobId) % 10000);
    const rank0 = read(`forge-sft-tiny-sft-${jobId}-rank0.out`);
    const rank1 = read(`forge-sft-tiny-sft-${jobId}-rank1.out`);
    assert.match(rank0, new RegExp(`^forge slurm: rank 0 of 2 \\(local 0 of 2, node 0: localhost\\), rendezvous localhost:${port}`));
    assert.match(rank1, new RegExp(`^forge slurm: rank 1 of 2 \\(local 1 of 2, node 0: localhost\\), rendezvous localhost:${port}`));
    assert.match(rank0, /batch 4 × 1 per rank × 2 data-parallel ranks/);
    assert.match(rank0, /step 2\/2/);
    assert.doesNotMatch(rank1, /SFT:/, "rank 1 trains silently");
    assert.match(read(`forge-sft-tiny-sft-${jobId}.out`), new RegExp(`job ${jobId} on localhost: 1 node\\(s\\) x 2 rank\\(s\\)`));
    for (const f of ["model/model.safetensors", "config.yaml", "ckpt"]) assert.ok(existsSync(join(out, f)), f);
    assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").length, 2, "each step logged once");
  });

  test("salloc: inside the allocation forge slurm runs the ranks with srun at once", async (t) => {
    if (!cluster) return t.skip(skip);
    const dir = mkdtempSync(join(tmpdir(), "tf-slurm-salloc-"));
    const salloc = ["--nodes", "1", "--ntasks", "2", process.execPath, "--import", "tsx", "apps/slurm/main.ts"];
    const child = spawn("salloc", [...salloc, "--nproc-per-node", "2", "--output", dir, RANK_SCRIPT, "--y"], {
      env: { ...cluster.env, MODE: "exit" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, output);
    const jobId = /inside allocation (\d+)/.exec(output)?.[1];
    assert.ok(jobId, output);
    assert.doesNotMatch(output, /submitted job/);
    for (const rank of [0, 1]) {
      const lines = readFileSync(join(dir, `forge-rank-script-${jobId}-rank${rank}.out`), "utf8").trim().split("\n");
      const seen = JSON.parse(lines[1]!) as Record<string, unknown>;
      assert.deepEqual([seen.rank, seen.worldSize, seen.localWorldSize, seen.masterAddr, seen.args], [String(rank), "2", "2", "localhost", ["--y"]]);
    }
  });

  test("inside an allocation, SIGTERM to forge slurm reaches every rank through srun", async (t) => {
    if (!cluster) return t.skip(skip);
    const alloc = cluster.client(["salloc", "--no-shell", "--nodes", "1", "--ntasks", "2"]);
    const jobId = /Granted job allocation (\d+)/.exec(alloc.stderr + alloc.stdout)?.[1];
    assert.ok(jobId, alloc.stderr);
    try {
      const dir = mkdtempSync(join(tmpdir(), "tf-slurm-sigterm-"));
      const env = { ...cluster.env, MODE: "sleep", SLURM_JOB_ID: jobId, SLURM_JOB_NODELIST: "localhost", SLURM_JOB_NUM_NODES: "1" };
      const child = spawn(process.execPath, ["--import", "tsx", "apps/slurm/main.ts", "--nproc-per-node", "2", "--output", dir, RANK_SCRIPT], { env, stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const logs = [0, 1].map((rank) => join(dir, `forge-rank-script-${jobId}-rank${rank}.out`));
      const pids: number[] = [];
      const deadline = Date.now() + 30_000;
      while (pids.length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        pids.splice(0, pids.length, ...logs.flatMap((f) => (existsSync(f) ? [...readFileSync(f, "utf8").matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])) : [])));
      }
      assert.equal(pids.length, 2, "both ranks started");
      child.kill("SIGTERM");
      // 143: the ranks died of SIGTERM (srun's own reaction to SIGTERM would be SIGKILL: 137).
      assert.equal(await exited, 143);
      assert.deepEqual(pids.filter(isAlive), [], "every rank was stopped");
    } finally {
      cluster.client(["scancel", jobId]);
    }
  });

  test("a failing rank ends the job (--kill-on-bad-exit): --wait prints which rank failed, the job is FAILED", async (t) => {
    if (!cluster) return t.skip(skip);
    const dir = mkdtempSync(join(tmpdir(), "tf-slurm-fail-"));
    const start = Date.now();
    const r = await forgeSlurm(["--nproc-per-node", "2", "--output", dir, "--wait", RANK_SCRIPT], { ...cluster.env, MODE: "fail", FAIL_RANK: "1" });
    const jobId = jobIdOf(r.stdout);
    assert.ok(jobId, r.stdout + r.stderr);
    // srun's exit code is its ranks' highest: 143 for rank 0, which it stopped; the failing rank is printed.
    assert.equal(r.code, 143, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`job ${jobId} ended with exit code 143\n  srun: error: localhost: task 1: Exited with exit code 7`));
    assert.deepEqual(await cluster.waitForJob(jobId, 30_000), { state: "FAILED", exitCode: "143:0" });
    assert.ok(Date.now() - start < 60_000, "rank 0 (sleeping) was stopped, not waited for");
  });

  test("a submission sbatch refuses is an error carrying sbatch's message", async (t) => {
    if (!cluster) return t.skip(skip);
    const dir = mkdtempSync(join(tmpdir(), "tf-slurm-refused-"));
    const r = await forgeSlurm(["--partition", "no-such-partition", "--output", dir, RANK_SCRIPT], cluster.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /forge slurm: error: sbatch refused .*forge-rank-script\.sbatch \(exit 1\): sbatch: error: .*[Pp]artition/);
  });
});
