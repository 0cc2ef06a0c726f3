// forge slurm: the command line (errors, --dry-run, the allocation path with stub Slurm commands),
// then against a real single-node Slurm cluster started here (tests/fixtures/slurm-cluster.ts):
// a 2-rank data-parallel SFT submitted with sbatch, a job inside salloc, a failing rank, a refused
// submission. The cluster part skips, saying why, where Slurm/munge are not installed or cannot run.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSlurmCluster, slurmUnavailable, type SlurmCluster } from "../fixtures/slurm-cluster.ts";

const RANK_SCRIPT = "tests/actors/fixtures/rank-script.mjs";

function forgeSlurm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "apps/slurm/main.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The tiny SFT config of tests/apps/sft-data-parallel.test.ts, 2 steps, 2 ranks by default. */
function sftConfig(dir: string): string {
  const path = join(dir, "tiny sft.yaml");
  writeFileSync(
    path,
    [
      "model: { preset: tiny, seed: 0 }",
      "dataset: { path: 'arithmetic:add-2d', split: train, prompt_format: raw }",
      "training: { learning_rate: 3e-3, seq_len: 64, steps: 2, seed: 0, batch_size: 4 }",
      "checkpoint: { enable: true, interval: 2, folder: '${output_dir}/ckpt' }",
      "eval: { eval_every_n_steps: null }",
      "processes: { procs: 2 }",
    ].join("\n") + "\n",
  );
  return path;
}

const noSlurmEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("SLURM_")) delete env[k];
  return env;
};

/** `main` of apps/slurm in this process, with `env` as process.env and console output captured. */
async function forgeSlurmHere(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { env: process.env, log: console.log, error: console.error };
  let stdout = "";
  let stderr = "";
  process.env = env;
  console.log = (...a: unknown[]) => void (stdout += `${a.join(" ")}\n`);
  console.error = (...a: unknown[]) => void (stderr += `${a.join(" ")}\n`);
  try {
    const { main } = await import("../../apps/slurm/main.ts");
    return { code: await main(args), stdout, stderr };
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error });
    process.env = saved.env;
  }
}

test("forge slurm: bad options, a bad config and a missing sbatch are named; nothing is written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-slurm-cli-"));
  const config = sftConfig(dir);
  const env = noSlurmEnv();
  const sft = ["sft", "--config", config, `output_dir=${dir}/out`];
  const zero = await forgeSlurmHere(["--nodes", "0", ...sft], env);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /forge slurm: usage error: --nodes: expected an integer ≥ 1; got '0'/);
  const word = await forgeSlurmHere(["--nodes", "two", ...sft], env);
  assert.match(word.stderr, /--nodes: expected an integer ≥ 1; got 'two'/);
  const unknown = await forgeSlurmHere(["--node", "2", ...sft], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--node'/);
  const time = await forgeSlurmHere(["--time", "2h", ...sft], env);
  assert.equal(time.code, 2);
  assert.match(time.stderr, /time: expected minutes, MM:SS, HH:MM:SS/);
  const twice = await forgeSlurmHere(["--config", config, ...sft], env);
  assert.match(twice.stderr, /--config is given twice/);
  const script = await forgeSlurmHere(["--nodes", "1", RANK_SCRIPT], env);
  assert.match(script.stderr, /--output DIR is required for a script/);
  const missing = await forgeSlurmHere(["--output", dir, "nope.ts"], env);
  assert.match(missing.stderr, /script 'nope.ts' not found/);
  const badConfig = await forgeSlurmHere([...sft, "training.stepz=3"], env);
  assert.equal(badConfig.code, 3, badConfig.stderr);
  assert.match(badConfig.stderr, /forge slurm: config error: [\s\S]*stepz/);
  const grpo = await forgeSlurmHere(["--nproc-per-node", "2", "grpo"], env);
  assert.match(grpo.stderr, /grpo runs as one process/);
  const emptyPath = join(dir, "empty-bin");
  mkdirSync(emptyPath);
  const noSbatch = await forgeSlurmHere(["--nodes", "1", ...sft], { ...env, PATH: emptyPath });
  assert.equal(noSbatch.code, 1);
  assert.match(noSbatch.stderr, /sbatch not found on PATH: run forge slurm on a Slurm cluster's login node .*apt-get install slurm-client.*forge launch --nproc-per-node N/);
  assert.equal(existsSync(join(dir, "out")), false, "no script written before the checks");
});

test("forge slurm --dry-run: prints the script with the app's output dir, job name and processes.procs ranks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-slurm-dry-"));
  const config = sftConfig(dir);
  const r = await forgeSlurmHere(["--config", config, "--dry-run", "--partition", "debug", "--time", "10", "sft", `output_dir=${dir}/out`], noSlurmEnv());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#SBATCH --job-name=forge-sft-tiny-sft$/m);
  assert.match(r.stdout, /^#SBATCH --ntasks-per-node=2$/m, "processes.procs of the config");
  assert.ok(r.stdout.includes(`#SBATCH --output=${dir}/out/slurm/forge-sft-tiny-sft-%j.out`), r.stdout);
  assert.match(r.stdout, /^#SBATCH --partition=debug$/m);
  assert.ok(r.stdout.includes(`sft --config '${config}' output_dir=${dir}/out`), "the app's argv, quoted");
  assert.equal(existsSync(join(dir, "out")), false, "a dry run writes nothing");
  const help = await forgeSlurmHere(["--help"], noSlurmEnv());
  assert.equal(help.code, 0);
  for (const option of ["--nodes", "--nproc-per-node", "--partition", "--time", "--job-name", "--env", "--sbatch", "--output", "--wait", "--dry-run"]) {
    assert.ok(help.stdout.includes(`  ${option}`), `--help documents ${option}`);
  }
});

test("forge slurm inside an allocation (SLURM_JOB_ID set) runs the ranks with srun instead of submitting", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-slurm-alloc-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  // Stubs: srun runs the tasks here with Slurm's task variables; sbatch must not be called.
  writeFileSync(
    join(bin, "srun"),
    `#!/bin/bash\nn=1; out=\nwhile [[ "$1" == --* ]]; do case "$1" in --ntasks-per-node=*) n=\${1#*=};; --output=*) out=\${1#*=};; esac; shift; done\n` +
      `for ((t = 0; t < n; t++)); do f=\${out//%j/$SLURM_JOB_ID}; SLURM_PROCID=$t SLURM_NTASKS=$n SLURM_LOCALID=$t SLURM_NTASKS_PER_NODE=$n SLURM_NODEID=0 "$@" > "\${f//%t/$t}" & done; wait\n`,
  );
  writeFileSync(join(bin, "scontrol"), "#!/bin/bash\necho alloc-host\n");
  writeFileSync(join(bin, "sbatch"), `#!/bin/bash\ntouch "${dir}/sbatch-called"; exit 1\n`);
  for (const f of ["srun", "scontrol", "sbatch"]) chmodSync(join(bin, f), 0o755);
  const env = { ...noSlurmEnv(), PATH: `${bin}:${process.env.PATH}`, SLURM_JOB_ID: "4321", SLURM_JOB_NODELIST: "alloc-host", SLURM_JOB_NUM_NODES: "1", MODE: "exit" };
  const r = await forgeSlurm(["--nproc-per-node", "2", "--output", join(dir, "logs"), RANK_SCRIPT, "--x", "1"], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /forge slurm: inside allocation 4321: running 1 node\(s\) x 2 rank\(s\) with srun/);
  assert.equal(existsSync(join(dir, "sbatch-called")), false);
  for (const rank of [0, 1]) {
    const lines = readFileSync(join(dir, "logs", `forge-rank-script-4321-rank${rank}.out`), "utf8").trim().split("\n");
    const seen = JSON.parse(lines[1]!) as Record<string, unknown>;
    assert.deepEqual(
      { rank: seen.rank, worldSize: seen.worldSize, masterAddr: seen.masterAddr, masterPort: seen.masterPort, args: seen.args },
      { rank: String(rank), worldSize: "2", masterAddr: "alloc-host", masterPort: String(10000 + (4321 % 10000)), args: ["--x", "1"] },
    );
  }
});

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
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      assert.deepEqual(pids.filter(alive), [], "every rank was stopped");
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
