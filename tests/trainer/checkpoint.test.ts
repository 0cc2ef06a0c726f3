import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { debugModel, loadPretrained } from "../../src/models/index.ts";
import { Trainer, CheckpointError, saveCheckpoint, loadCheckpoint, listCheckpoints, hasCheckpoint, type PolicyMicroBatch } from "../../src/trainer/index.ts";
import { TinyLM, batchOf, episodes, paramValues } from "./helpers.ts";

torch.setNumThreads(1);

const tmp = () => mkdtempSync(join(tmpdir(), "tf-ckpt-"));
const options = { loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 2e-2, weightDecay: 0.1 }, schedule: { warmupSteps: 2, totalSteps: 6, decay: "cosine" as const, minLrRatio: 0.1 } };

function runSteps(trainer: Trainer<PolicyMicroBatch, TinyLM>, from: number, to: number): number[] {
  const losses: number[] = [];
  for (let s = from; s < to; s++) {
    const batch = batchOf(episodes(6, 100 + s), 2);
    losses.push(trainer.trainStep(batch).loss);
    torch.dispose(batch);
  }
  return losses;
}

test("save → load → the next steps equal an uninterrupted run exactly (model, AdamW state, cosine schedule)", () => {
  const dir = tmp();
  const refModel = new TinyLM(4);
  const ref = new Trainer({ model: refModel, ...options });
  const refLosses = runSteps(ref, 0, 6);
  const refParams = paramValues(refModel);

  const m1 = new TinyLM(4);
  const t1 = new Trainer({ model: m1, ...options });
  runSteps(t1, 0, 3);
  const path = t1.save(dir, { policyVersion: 7, rng: { sampler: 42 }, extra: { replayBuffer: { items: [1, 2] } } });
  assert.equal(path, join(dir, "step-3"));
  t1.dispose();
  m1.dispose();

  const m2 = new TinyLM(99); // different init: everything must come from the checkpoint
  const t2 = new Trainer({ model: m2, ...options });
  const r = t2.load(dir);
  assert.deepEqual({ step: r.step, policyVersion: r.policyVersion, rng: r.rng, extra: r.extra }, { step: 3, policyVersion: 7, rng: { sampler: 42 }, extra: { replayBuffer: { items: [1, 2] } } });
  assert.equal(t2.step, 3);
  const resumed = runSteps(t2, 3, 6);
  assert.deepEqual(resumed, refLosses.slice(3), "losses after resume");
  assert.deepEqual(paramValues(m2), refParams, "params after resume are bit-identical");
  assert.equal(t2.optimizer.lr, ref.optimizer.lr);
  for (const t of [ref, t2]) t.dispose();
  refModel.dispose();
  m2.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("a CausalLM is saved in Hugging Face layout (loadPretrained reads it) and restored in place", () => {
  const dir = tmp();
  const model = debugModel("qwen3", { seed: 1 });
  const path = saveCheckpoint(dir, { model, step: 5 });
  assert.ok(existsSync(join(path, "model", "config.json")) && existsSync(join(path, "model", "model.safetensors")));
  assert.ok(!existsSync(join(path, "optimizer.safetensors")), "no optimizer given, none saved");
  const hf = loadPretrained(join(path, "model"));
  assert.deepEqual(paramValues(hf), paramValues(model));
  const other = debugModel("qwen3", { seed: 2 });
  const r = loadCheckpoint(dir, { model: other });
  assert.equal(r.step, 5);
  assert.equal(r.policyVersion, 5, "policyVersion defaults to step");
  assert.deepEqual(paramValues(other), paramValues(model));
  for (const m of [model, hf, other]) m.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("atomic: a crash mid-write leaves the previous latest intact and no partial step directory", () => {
  const dir = tmp();
  const model = new TinyLM(0);
  const trainer = new Trainer({ model, ...options });
  runSteps(trainer, 0, 1);
  trainer.save(dir);
  runSteps(trainer, 1, 2);
  const crash = {
    get boom(): never {
      throw new Error("simulated crash");
    },
  };
  assert.throws(() => trainer.save(dir, { extra: crash }), (e: unknown) => e instanceof CheckpointError && /step-2: writing failed.*simulated crash/.test(e.message));
  assert.equal(readFileSync(join(dir, "latest"), "utf8").trim(), "step-1");
  assert.deepEqual(readdirSync(dir).sort(), ["latest", "step-1"], "no step-2 and no temp directory");
  assert.equal(loadCheckpoint(dir, { model }).step, 1);
  // A temp directory left by a killed process is cleaned by the next save.
  saveCheckpoint(dir, { model, step: 9 });
  assert.deepEqual(readdirSync(dir).sort(), ["latest", "step-1", "step-9"]);
  trainer.dispose();
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("keepLast prunes old checkpoints; loading a specific step directory works; missing checkpoints are clear errors", () => {
  const dir = tmp();
  const model = new TinyLM(0);
  for (let s = 1; s <= 5; s++) saveCheckpoint(dir, { model, step: s * 10, keepLast: 2 });
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [40, 50]);
  assert.equal(loadCheckpoint(join(dir, "step-40"), { model }).step, 40);
  assert.equal(hasCheckpoint(dir), true);
  const empty = tmp();
  assert.equal(hasCheckpoint(empty), false);
  assert.throws(() => loadCheckpoint(empty, { model }), (e: unknown) => e instanceof CheckpointError && /no checkpoint here/.test(e.message));
  const opt = new Trainer({ model, ...options });
  assert.throws(() => loadCheckpoint(dir, { model, optimizer: opt.optimizer }), /saved without optimizer state/);
  assert.throws(() => saveCheckpoint(dir, { model, step: -1 }), /'step' must be an integer >= 0/);
  assert.throws(() => saveCheckpoint(dir, { model, step: 1, keepLast: 1.5 }), /'keepLast' must be an integer >= 0/);
  opt.dispose();
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

test("save and load leak no tensors", () => {
  const dir = tmp();
  const model = new TinyLM(0);
  const trainer = new Trainer({ model, ...options });
  runSteps(trainer, 0, 1);
  const live = torch.memory().numTensors;
  trainer.save(dir);
  trainer.load(dir);
  assert.equal(torch.memory().numTensors, live);
  trainer.dispose();
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});
