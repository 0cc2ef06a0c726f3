// forge slurm's command line without a cluster: errors, --dry-run, --help, and the allocation path
// with stub srun/scontrol/sbatch. The real-cluster tests are in slurm-cluster.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forgeSlurm, noSlurmEnv, RANK_SCRIPT, sftConfig } from "./fixtures/slurm-helpers.ts";

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
  const grpoSeparate = await forgeSlurmHere(["--nproc-per-node", "2", "grpo", "placement=separate"], env);
  assert.equal(grpoSeparate.code, 2, grpoSeparate.stderr);
  assert.match(grpoSeparate.stderr, /grpo with placement: separate runs as one trainer process/);
  const grpo = await forgeSlurmHere(["--dry-run", "--nproc-per-node", "2", "grpo"], env);
  assert.equal(grpo.code, 0, grpo.stderr);
  assert.match(grpo.stdout, /^#SBATCH --ntasks-per-node=2$/m, "data-parallel GRPO: one Slurm task per rank");
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
