// forge launch / launchRanks: torchrun's environment per rank, rank-prefixed output, fail-fast
// that names the failed rank, and no rank outliving a SIGKILLed launcher.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { launchRanks } from "../../src/actors/rank-launcher.ts";
import { isAlive } from "./fixtures/helpers.ts";

const SCRIPT = "tests/actors/fixtures/rank-script.mjs";

function collect() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, sinks: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

test("each rank gets torchrun's environment and its output is prefixed with its rank", async () => {
  const c = collect();
  const job = await launchRanks({ script: SCRIPT, args: ["--x", "1"], nprocPerNode: 3, env: { ...process.env, MODE: "exit" }, ...c.sinks });
  const result = await job.result;
  assert.equal(result.exitCode, 0);
  assert.deepEqual(result.exits.map((e) => e.rank), [0, 1, 2]);
  const envs = c.out.map((l) => {
    const m = /^\[rank(\d)\] (\{.*\})$/.exec(l);
    assert.ok(m, `unprefixed line: ${l}`);
    const v = JSON.parse(m[2]!) as Record<string, unknown>;
    assert.equal(v.rank, m[1]);
    return v;
  });
  assert.equal(envs.length, 3);
  const port = envs[0]!.masterPort;
  for (const v of envs) {
    assert.equal(v.worldSize, "3");
    assert.equal(v.localWorldSize, "3");
    assert.equal(v.localRank, v.rank);
    assert.equal(v.masterAddr, "127.0.0.1");
    assert.equal(v.masterPort, port);
    assert.deepEqual(v.args, ["--x", "1"]);
  }
  assert.deepEqual(c.err.sort(), ["[rank0] stderr of 0", "[rank1] stderr of 1", "[rank2] stderr of 2"]);
});

test("a failing rank stops the job, is named, and its exit code is the job's", async () => {
  const c = collect();
  const start = Date.now();
  const job = await launchRanks({ script: SCRIPT, nprocPerNode: 3, env: { ...process.env, MODE: "fail", FAIL_RANK: "1" }, graceS: 2, ...c.sinks });
  const result = await job.result;
  assert.equal(result.exitCode, 7);
  assert.equal(result.failed?.rank, 1);
  assert.ok(c.err.some((l) => /rank 1 \(pid \d+\) exited with code 7; stopping the other 2 rank\(s\)/.test(l)), c.err.join("\n"));
  assert.ok(Date.now() - start < 10_000);
  for (const pid of job.pids) assert.equal(isAlive(pid), false, `pid ${pid} survived`);
});

test("ranks die when the launcher is SIGKILLed (parent watchdog)", async () => {
  const launcher = spawn(process.execPath, ["--import", "tsx", "apps/launch/main.ts", "--nproc-per-node", "2", SCRIPT], {
    env: { ...process.env, MODE: "sleep" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const pids: number[] = [];
  const lines = createInterface({ input: launcher.stdout! });
  await new Promise<void>((resolve) =>
    lines.on("line", (l) => {
      const m = /"pid":(\d+)/.exec(l);
      if (m) pids.push(Number(m[1]));
      if (pids.length === 2) resolve();
    }),
  );
  for (const pid of pids) assert.ok(isAlive(pid));
  launcher.kill("SIGKILL");
  const deadline = Date.now() + 5000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pids.filter(isAlive), [], "ranks outlived the launcher by 5 s");
});

test("forge launch: a data-parallel job whose rank is SIGKILLed ends with that rank named and every rank gone", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/launch/main.ts", "--nproc-per-node", "2", "--grace-s", "2", "tests/trainer/fixtures/dp-worker.ts"], {
    env: { ...process.env, STEPS: "3", KILL_AT_STEP: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  assert.equal(code, 137, stderr);
  assert.match(stderr, /forge launch: rank 1 \(pid \d+\) was killed by SIGKILL; stopping the other 1 rank\(s\)/);
});

test("forge launch: usage errors name the option", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, ["--import", "tsx", "apps/launch/main.ts", ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      c.on("close", (code) => resolve({ code, stderr }));
    });
  const missing = await run([SCRIPT]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--nproc-per-node is required/);
  const bad = await run(["--nproc-per-node", "zero", SCRIPT]);
  assert.match(bad.stderr, /--nproc-per-node: expected an integer ≥ 1; got 'zero'/);
  const noScript = await run(["--nproc-per-node", "2", "nope.ts"]);
  assert.match(noScript.stderr, /script 'nope.ts' not found/);
});
