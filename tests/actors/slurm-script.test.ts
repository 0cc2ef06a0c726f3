// renderSbatchScript: every option on its #SBATCH line or the srun line, quoting that survives
// bash (paths with spaces, quotes, $), env passthrough, and the torchrun environment each rank
// gets from Slurm's — checked by running the script under bash with stub srun/scontrol.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSlurmTime, renderSbatchScript, shellQuote, slurmJobName, slurmLogPaths, SlurmScriptError, type SbatchScriptOptions } from "../../src/actors/slurm-script.ts";

const base: SbatchScriptOptions = { jobName: "forge-sft-tiny", nodes: 2, nprocPerNode: 4, command: ["/usr/bin/node", "/app/forge.ts", "sft"], logDir: "/runs/x/slurm", workdir: "/home/me" };
const sbatchLines = (script: string) => script.split("\n").filter((l) => l.startsWith("#SBATCH "));
const srunLine = (script: string) => script.split("\n").find((l) => l.startsWith("exec srun "))!;

test("the minimal script: job name, shape, job log, workdir; derived rendezvous; one srun task per rank", () => {
  const s = renderSbatchScript(base);
  assert.ok(s.startsWith("#!/bin/bash\n"));
  assert.deepEqual(sbatchLines(s), [
    "#SBATCH --job-name=forge-sft-tiny",
    "#SBATCH --nodes=2",
    "#SBATCH --ntasks-per-node=4",
    "#SBATCH --output=/runs/x/slurm/forge-sft-tiny-%j.out",
    "#SBATCH --chdir=/home/me",
  ]);
  assert.equal(srunLine(s), "exec srun --job-name=forge-sft-tiny --nodes=2 --ntasks-per-node=4 --kill-on-bad-exit=1 --output=/runs/x/slurm/forge-sft-tiny-%j-rank%t.out \\");
  assert.match(s, /^MASTER_ADDR=\$\(scontrol show hostnames "\$SLURM_JOB_NODELIST" \| head -n 1\)$/m);
  assert.match(s, /^export MASTER_PORT=\$\(\(10000 \+ SLURM_JOB_ID % 10000\)\)$/m);
  assert.ok(s.trimEnd().endsWith("  /usr/bin/node /app/forge.ts sft"));
  assert.doesNotMatch(s, /^export (?!MASTER_)/m, "no env exports unless asked");
});

test("every option is rendered", () => {
  const s = renderSbatchScript({
    ...base,
    partition: "gpu",
    time: "1-02:00:00",
    cpusPerTask: 8,
    gpusPerNode: 4,
    masterPort: 29400,
    env: { OMP_NUM_THREADS: "8", HF_HOME: "/data/hf cache" },
    sbatchArgs: ["--account=ml", "--exclusive"],
    origin: "written by: forge slurm --nodes 2\nsft",
  });
  assert.deepEqual(sbatchLines(s).slice(5), [
    "#SBATCH --partition=gpu",
    "#SBATCH --time=1-02:00:00",
    "#SBATCH --cpus-per-task=8",
    "#SBATCH --gpus-per-node=4",
    "#SBATCH --account=ml",
    "#SBATCH --exclusive",
  ]);
  assert.match(srunLine(s), / --cpus-per-task=8 /, "srun of Slurm 22.05 does not inherit --cpus-per-task");
  assert.match(s, /^export MASTER_PORT=29400$/m);
  assert.match(s, /^export OMP_NUM_THREADS=8$/m);
  assert.match(s, /^export HF_HOME='\/data\/hf cache'$/m);
  assert.match(s, /^# written by: forge slurm --nodes 2 sft$/m, "the origin stays one comment line");
});

test("values with spaces are double-quoted on #SBATCH lines; quotes and line breaks are refused", () => {
  const s = renderSbatchScript({ ...base, logDir: "/runs/my run/slurm", workdir: "/home/me/a b", jobName: "forge sft" });
  assert.ok(sbatchLines(s).includes('#SBATCH --output="/runs/my run/slurm/forge sft-%j.out"'));
  assert.ok(sbatchLines(s).includes('#SBATCH --chdir="/home/me/a b"'));
  assert.ok(sbatchLines(s).includes('#SBATCH --job-name="forge sft"'));
  assert.throws(() => renderSbatchScript({ ...base, logDir: '/runs/"x"' }), /--output: a value on an #SBATCH line cannot contain '"'/);
  assert.throws(() => renderSbatchScript({ ...base, partition: "a\nb" }), /--partition: .*line break/);
});

test("bad options are refused by name", () => {
  const bad: [Partial<SbatchScriptOptions>, RegExp][] = [
    [{ nodes: 0 }, /nodes: expected an integer ≥ 1; got 0/],
    [{ nprocPerNode: 1.5 }, /nprocPerNode: expected an integer ≥ 1; got 1.5/],
    [{ masterPort: 70000 }, /masterPort: expected an integer in \[1, 65535\]; got 70000/],
    [{ logDir: "runs/x" }, /logDir: expected an absolute path; got 'runs\/x'/],
    [{ logDir: "/runs/100%" }, /logDir: cannot contain '%'/],
    [{ jobName: "a%j" }, /jobName: cannot contain '%'/],
    [{ command: [] }, /command: expected the program/],
    [{ time: "2h" }, /time: expected minutes, MM:SS, HH:MM:SS/],
    [{ env: { "BAD-NAME": "1" } }, /env: 'BAD-NAME' is not an environment variable name/],
    [{ env: { RANK: "3" } }, /env: RANK is set for each rank from Slurm's environment/],
    [{ env: { MASTER_PORT: "3" } }, /use masterPort/],
    [{ sbatchArgs: ["account=ml"] }, /sbatchArgs: expected an sbatch option/],
  ];
  for (const [o, message] of bad) {
    assert.throws(() => renderSbatchScript({ ...base, ...o }), (e: unknown) => e instanceof SlurmScriptError && message.test(e.message), JSON.stringify(o));
  }
  for (const t of ["30", "10:00", "2:00:00", "1-0", "1-2:30", "1-02:30:00", "UNLIMITED"]) assert.ok(isSlurmTime(t), t);
  for (const t of ["", "1h", "1:2:3:4", "-1"]) assert.ok(!isSlurmTime(t), t);
});

test("job names and log paths", () => {
  assert.equal(slurmJobName("forge", "sft", "llama3_8b"), "forge-sft-llama3_8b");
  assert.equal(slurmJobName("forge", "my train (v2)"), "forge-my-train-v2");
  const logs = slurmLogPaths({ logDir: "/o/slurm/", jobName: "forge-sft-x", jobId: "42" });
  assert.equal(logs.job, "/o/slurm/forge-sft-x-42.out");
  assert.equal(logs.rank(3), "/o/slurm/forge-sft-x-42-rank3.out");
});

test("shellQuote survives bash for any string", () => {
  const words = ["plain", "with space", "it's", '"dq"', "$HOME", "`x`", "a\\b", "", "*", "new\nline", "ü"];
  const r = spawnSync("bash", ["-c", `printf '%s\\0' ${words.map(shellQuote).join(" ")}`], { encoding: "utf8" });
  assert.deepEqual(r.stdout.split("\0").slice(0, -1), words);
});

/** Stub srun (runs the command once per task with Slurm's task variables, output into --output) and scontrol. */
function stubSlurm(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "srun"),
    `#!/bin/bash
n=1; nodes=1; out=
while [[ "$1" == --* ]]; do case "$1" in --ntasks-per-node=*) n=\${1#*=};; --nodes=*) nodes=\${1#*=};; --output=*) out=\${1#*=};; esac; shift; done
echo "$nodes $n" > "${dir}/srun-shape"
for ((node = 0; node < nodes; node++)); do for ((i = 0; i < n; i++)); do
  t=$((node * n + i)); f=\${out//%j/$SLURM_JOB_ID}; f=\${f//%t/$t}
  SLURM_PROCID=$t SLURM_NTASKS=$((nodes * n)) SLURM_LOCALID=$i SLURM_NTASKS_PER_NODE=$n SLURM_NODEID=$node SLURMD_NODENAME=node$node "$@" > "$f"
done; done
`,
  );
  writeFileSync(join(bin, "scontrol"), `#!/bin/bash\n[ "$1 $2 $3" = "show hostnames n[0-1]" ] && printf 'n0\\nn1\\n'\n`);
  for (const f of ["srun", "scontrol"]) chmodSync(join(bin, f), 0o755);
  return bin;
}

test("under bash, each rank gets torchrun's environment from Slurm's and exactly the argv it was given", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf slurm script "));
  const bin = stubSlurm(dir);
  const logDir = join(dir, "logs dir");
  mkdirSync(logDir);
  const args = ["output_dir=/runs/a b", "it's", '"q"', "$HOME", "--x=`y`"];
  const printer = "console.log(JSON.stringify({ args: process.argv.slice(1), env: Object.fromEntries(['RANK','WORLD_SIZE','LOCAL_RANK','LOCAL_WORLD_SIZE','GROUP_RANK','MASTER_ADDR','MASTER_PORT','HF_HOME'].map((k) => [k, process.env[k]])) }))";
  const script = renderSbatchScript({ ...base, nodes: 2, nprocPerNode: 2, logDir, workdir: dir, env: { HF_HOME: "/a b/$c" }, command: [process.execPath, "-e", printer, ...args] });
  writeFileSync(join(dir, "job.sbatch"), script);
  const r = spawnSync("bash", [join(dir, "job.sbatch")], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, SLURM_JOB_ID: "12345", SLURM_JOB_NODELIST: "n[0-1]", MASTER_PORT: "1", RANK: "9" },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /job 12345 on n\[0-1\]: 2 node\(s\) x 2 rank\(s\), rendezvous n0:12345/);
  assert.ok(r.stdout.includes(`rank logs ${logDir}/forge-sft-tiny-12345-rank<R>.out`), r.stdout);
  assert.equal(readFileSync(join(dir, "srun-shape"), "utf8").trim(), "2 2");
  for (let rank = 0; rank < 4; rank++) {
    const lines = readFileSync(join(logDir, `forge-sft-tiny-12345-rank${rank}.out`), "utf8").trim().split("\n");
    assert.match(lines[0]!, new RegExp(`^forge slurm: rank ${rank} of 4 \\(local ${rank % 2} of 2, node ${rank >> 1}: node${rank >> 1}\\), rendezvous n0:12345, pid \\d+$`));
    const seen = JSON.parse(lines[1]!) as { args: string[]; env: Record<string, string> };
    assert.deepEqual(seen.args, args);
    assert.deepEqual(seen.env, {
      RANK: String(rank),
      WORLD_SIZE: "4",
      LOCAL_RANK: String(rank % 2),
      LOCAL_WORLD_SIZE: "2",
      GROUP_RANK: String(rank >> 1),
      MASTER_ADDR: "n0",
      MASTER_PORT: "12345",
      HF_HOME: "/a b/$c",
    });
  }
});

test("outside a Slurm job the script stops with a message instead of running srun", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-slurm-script-"));
  writeFileSync(join(dir, "job.sbatch"), renderSbatchScript({ ...base, logDir: dir, workdir: dir }));
  const r = spawnSync("bash", [join(dir, "job.sbatch")], { encoding: "utf8", env: { PATH: process.env.PATH } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not inside a Slurm job: submit this script with sbatch, or run it with bash inside salloc/);
});
