// SFT over 2 data-parallel ranks (processes.procs: 2, re-launched through the rank launcher)
// trains the same model as one process on the same global batch; only rank 0 writes outputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPretrained } from "../../src/models/index.ts";
import { torch, optim } from "../../src/torch/index.ts";
import { resolveModel } from "../../apps/shared/resolve-model.ts";

function runSftCli(config: string, overrides: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "apps/sft/main.ts", "--config", config, ...overrides], {
      env: { ...process.env, OMP_NUM_THREADS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

test("SFT with processes.procs: 2 equals one process on the same global batch", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-sft-dp-"));
  const config = join(dir, "sft.yaml");
  writeFileSync(
    config,
    [
      "model: { preset: tiny, seed: 0 }",
      "dataset: { path: 'arithmetic:add-2d', split: train, prompt_format: raw }",
      "training: { learning_rate: 3e-3, seq_len: 64, steps: 3, seed: 0 }",
      "checkpoint: { enable: true, interval: 3, folder: '${output_dir}/ckpt' }",
      "eval: { eval_every_n_steps: null }",
    ].join("\n") + "\n",
  );
  const two = await runSftCli(config, [`output_dir=${join(dir, "two")}`, "training.batch_size=4", "processes.procs=2"]);
  assert.equal(two.code, 0, two.out);
  assert.match(two.out, /\[rank0\] .*batch 4 × 1 per rank × 2 data-parallel ranks/);
  assert.doesNotMatch(two.out, /\[rank1\] SFT:/, "rank 1 logs nothing");
  const one = await runSftCli(config, [`output_dir=${join(dir, "one")}`, "training.batch_size=8"]);
  assert.equal(one.code, 0, one.out);
  for (const f of ["model/model.safetensors", "config.yaml", "metrics.jsonl"]) assert.ok(existsSync(join(dir, "two", f)), f);
  assert.ok(existsSync(join(dir, "two", "ckpt")), "rank 0 wrote the checkpoint");
  assert.equal(readFileSync(join(dir, "two", "metrics.jsonl"), "utf8").trim().split("\n").length, 3, "each step logged once");
  const a = loadPretrained(join(dir, "two", "model"));
  const b = loadPretrained(join(dir, "one", "model"));
  torch.manualSeed(0); // as the app seeds before building the preset
  const start = resolveModel({ preset: "tiny", seed: 0, dtype: "float32" }).model;
  const maxDiff = (x: typeof a, y: typeof a) => {
    const py = new Map(y.namedParameters());
    let d = 0;
    for (const [name, p] of x.namedParameters()) {
      const ys = py.get(name)!.toFlatArray();
      p.toFlatArray().forEach((v, i) => (d = Math.max(d, Math.abs(v - ys[i]!))));
    }
    return d;
  };
  const diff = maxDiff(a, b);
  const moved = maxDiff(b, start);
  // Adam divides by √v, so rounding differences of near-zero gradients (the ranks' padding and
  // summation order differ) show up at ~1e-5 after 3 steps; a wrong share would be ~lr per step.
  assert.ok(moved > 5e-3, `training moved the weights by ${moved}`);
  assert.ok(diff < 5e-5, `2-rank and 1-process weights differ by ${diff} (moved ${moved})`);
  for (const m of [a, b, start]) m.dispose();
});

test("SFT with parallelism.zero_stage: 1 (sharded optimizer state) trains the same weights as unsharded ranks and checkpoints every parameter's state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-sft-zero1-"));
  const config = join(dir, "sft.yaml");
  writeFileSync(
    config,
    [
      "model: { preset: tiny, seed: 0 }",
      "dataset: { path: 'arithmetic:add-2d', split: train, prompt_format: raw }",
      "training: { learning_rate: 3e-3, seq_len: 64, steps: 2, seed: 0, batch_size: 4 }",
      "processes: { procs: 2 }",
      "checkpoint: { enable: true, interval: 2, folder: '${output_dir}/ckpt' }",
      "eval: { eval_every_n_steps: null }",
    ].join("\n") + "\n",
  );
  const sharded = await runSftCli(config, [`output_dir=${join(dir, "sharded")}`, "parallelism.zero_stage=1"]);
  assert.equal(sharded.code, 0, sharded.out);
  assert.match(sharded.out, /\[rank0\] .*2 data-parallel ranks, optimizer state sharded \(ZeRO-1\)/);
  const plain = await runSftCli(config, [`output_dir=${join(dir, "plain")}`]);
  assert.equal(plain.code, 0, plain.out);
  assert.doesNotMatch(plain.out, /ZeRO-1/);
  const a = loadPretrained(join(dir, "sharded", "model"));
  const b = loadPretrained(join(dir, "plain", "model"));
  const pb = new Map(b.namedParameters());
  let diff = 0;
  for (const [name, p] of a.namedParameters()) {
    const ys = pb.get(name)!.toFlatArray();
    p.toFlatArray().forEach((v, i) => (diff = Math.max(diff, Math.abs(v - ys[i]!))));
  }
  assert.ok(diff <= 1e-6, `sharded and unsharded 2-rank weights differ by ${diff}`);
  const states = ["sharded", "plain"].map((d) => optim.loadOptimizerState(join(dir, d, "ckpt", "step-2", "optimizer.safetensors")));
  const count = a.parameters().length;
  assert.equal(Object.keys(states[0]!.state).length, count, "rank 0 wrote both ranks' state");
  assert.deepEqual(Object.keys(states[0]!.state), Object.keys(states[1]!.state));
  for (const s of states) torch.dispose(s.state);
  a.dispose();
  b.dispose();
});
