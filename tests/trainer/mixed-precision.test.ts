import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, nn, optim, type DType, type Tensor } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { Trainer, LossScaler, type PolicyMicroBatch, type ForwardModel } from "../../src/trainer/index.ts";
import { TinyLM, VOCAB, batchOf, episodes, maxAbsDiff, paramValues } from "./helpers.ts";

torch.setNumThreads(1);

const loss = new GRPOLoss({ beta: 0 });

/** Embedding → per-vocab gain: libtorch's CPU float16 has no matmul/tanh kernels, but these ops work. */
class HalfLM extends nn.Module {
  readonly embed: nn.Embedding;
  readonly gain: Tensor;
  constructor(seed: number) {
    super();
    torch.manualSeed(seed);
    this.embed = this.registerModule("embed", torch.noGrad(() => new nn.Embedding(VOCAB, VOCAB)));
    this.gain = this.registerParameter("gain", torch.noGrad(() => torch.rand([VOCAB]).add(0.5)));
  }
  forward(ids: Tensor): Tensor {
    return torch.tidy(() => this.embed.forward(ids).mul(this.gain)); // (B, T, V)
  }
}

/** A tiny LM whose weights are exactly representable in bf16/fp16, cast to `dtype`. */
function model(seed: number, dtype: DType, init?: (w: number[]) => number[]): ForwardModel & { parameters(): Tensor[] } {
  const m = dtype === "float16" ? new HalfLM(seed) : new TinyLM(seed);
  if (init) torch.noGrad(() => {
    for (const p of m.parameters()) {
      const fresh = torch.tensor(init(p.toFlatArray() as number[]), { shape: p.shape });
      p.copy_(fresh);
      fresh.dispose();
    }
  });
  m.to("bfloat16").to("float32"); // same starting point for every dtype
  if (dtype !== "float32") m.to(dtype);
  return m;
}

function run(trainer: Trainer<PolicyMicroBatch, ForwardModel>, steps: number, seed = 30) {
  const results = [];
  for (let s = 0; s < steps; s++) {
    const batch = batchOf(episodes(8, seed + s), 2);
    results.push(trainer.trainStep(batch));
    torch.dispose(batch);
  }
  return results;
}

const floats = (m: Map<string, Tensor>) => new Map([...m].map(([k, t]) => [k, t.toFlatArray() as number[]]));

test("bf16 training keeps float32 masters and state; its updates match a float32 run's to bf16 precision", () => {
  const steps = 4;
  const ref = model(1, "float32");
  const r0 = paramValues(ref);
  const refTrainer = new Trainer({ model: ref, loss, optimizer: { lr: 1e-2, weightDecay: 0 }, entropy: false });
  run(refTrainer, steps);
  const bf = model(1, "bfloat16");
  const shared = bf.parameters(); // what a colocated generator holds
  const sharedBefore = shared.map((t) => t.toFlatArray());
  const bfTrainer = new Trainer({ model: bf, loss, optimizer: { lr: 1e-2, weightDecay: 0 }, entropy: false });
  assert.equal(bfTrainer.hasMasterWeights, true);
  const masters = bfTrainer.masterWeights();
  assert.deepEqual([...masters.keys()].sort(), ["embed.weight", "head.bias", "head.weight"]);
  for (const t of masters.values()) assert.equal(t.dtype, "float32");
  run(bfTrainer, steps);
  assert.ok(bfTrainer.optimizer.paramGroups[0]!.params.every((p) => p.dtype === "float32"), "AdamW updates the float32 masters");
  assert.deepEqual(bf.parameters(), shared, "the parameter tensors are updated in place, not replaced");
  assert.ok(shared.every((t, i) => t.dtype === "bfloat16" && t.toFlatArray().some((x, j) => x !== sharedBefore[i]![j])));

  const refAfter = paramValues(ref);
  const mastersAfter = floats(bfTrainer.masterWeights());
  // The updates (~lr per step) agree up to the bf16 rounding of the forward/backward.
  let num = 0;
  let den = 0;
  for (const [k, xs] of refAfter) {
    xs.forEach((x, i) => {
      num += Math.abs(mastersAfter.get(k)![i]! - x);
      den += Math.abs(x - r0.get(k)![i]!);
    });
  }
  assert.ok(den > 0 && num / den < 0.05, `bf16 updates differ from float32 updates by ${((100 * num) / den).toFixed(2)}% (mean |Δ|)`);
  // The bf16 parameters are the bf16 rounding of the masters.
  const rounded = new Map([...bfTrainer.masterWeights()].map(([k, t]) => [k, torch.tidy(() => t.to("bfloat16").to("float32").toFlatArray() as number[])]));
  assert.equal(maxAbsDiff(paramValues(bf), rounded), 0);
  // ... and within a couple of bf16 steps of the float32 run's weights.
  assert.ok(maxAbsDiff(paramValues(bf), refAfter) < 2 * 2 ** -8, `max |bf16 − fp32| = ${maxAbsDiff(paramValues(bf), refAfter)}`);
  refTrainer.dispose();
  bfTrainer.dispose();
  ref.dispose();
  bf.dispose();
});

test("a tiny learning rate on weights ~1 is not lost in bf16 (it is with the in-place bf16 update)", () => {
  const near1 = (w: number[]) => w.map((x, i) => 1 + 0.4 * ((i * 0.618) % 1)); // [1, 1.4): bf16 step 2^-7
  const steps = 6;
  const lr = 1e-3; // 1/8 of a bf16 step: rounds away every time when applied to bf16 directly
  const inPlace = model(2, "bfloat16", near1);
  const before = paramValues(inPlace);
  const warnings: string[] = [];
  const plain = new Trainer({ model: inPlace, loss, optimizer: { lr, weightDecay: 0 }, masterWeights: false, entropy: false, warn: (m) => warnings.push(m) });
  assert.equal(plain.hasMasterWeights, false);
  run(plain, steps);
  assert.equal(maxAbsDiff(paramValues(inPlace), before), 0, "in-place bf16 AdamW drops every update");

  const mixed = model(2, "bfloat16", near1);
  const trainer = new Trainer({ model: mixed, loss, optimizer: { lr, weightDecay: 0 }, entropy: false });
  run(trainer, steps);
  const masters = floats(trainer.masterWeights());
  const moved = maxAbsDiff(masters, before);
  assert.ok(moved > 0.8 * steps * lr && moved <= steps * lr * 1.001, `masters moved ${moved}, expected ~${steps * lr}`);
  assert.ok(maxAbsDiff(paramValues(mixed), before) >= 2 ** -7, "the accumulated update reaches the bf16 parameters");

  // lr 1e-7: invisible in bf16 for a long time, but kept exactly in the masters.
  const tiny = model(3, "bfloat16", near1);
  const t0 = paramValues(tiny);
  const tt = new Trainer({ model: tiny, loss, optimizer: { lr: 1e-7, weightDecay: 0 }, entropy: false });
  run(tt, 3);
  const tm = maxAbsDiff(floats(tt.masterWeights()), t0);
  // Each step moves a weight by one float32 step near 1 (1.19e-7): kept, where bf16 would need 2^-8.
  assert.ok(tm >= 2.3e-7 && tm <= 3 * 2 ** -23 + 1e-12, `masters moved ${tm} after 3 steps of lr 1e-7`);
  assert.equal(maxAbsDiff(paramValues(tiny), t0), 0, "not yet visible in bf16");
  for (const t of [plain, trainer, tt]) t.dispose();
  for (const m of [inPlace, mixed, tiny]) m.dispose();
});

test("a given optimizer over bf16 parameters is used as given, with a warning (it updates them in place)", () => {
  const m = model(4, "bfloat16");
  const warnings: string[] = [];
  const t = new Trainer({ model: m, loss, optimizer: new optim.SGD(m.parameters(), { lr: 0.1 }), warn: (w) => warnings.push(w) });
  assert.equal(t.hasMasterWeights, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /updates bf16\/fp16 parameters in place.*pass AdamW options/);
  const own = new Trainer({ model: m, loss, warn: (w) => warnings.push(w) });
  assert.equal(warnings.length, 1, "a trainer-built optimizer needs no warning");
  own.dispose();
  m.dispose();
});

test("fp16: loss scaling skips overflowing steps, backs off, recovers and grows the scale again", () => {
  const m = model(5, "float16");
  const warnings: string[] = [];
  const trainer = new Trainer({
    model: m,
    loss,
    optimizer: { lr: 1e-2, weightDecay: 0 },
    entropy: false,
    maxBadSteps: 2, // overflow skips do not count toward it
    lossScaling: { initScale: 2 ** 40, growthInterval: 2 },
    warn: (w) => warnings.push(w),
  });
  assert.equal(trainer.lossScale, 2 ** 40);
  const before = paramValues(m);
  const results = [];
  for (let s = 0; s < 40; s++) {
    const r = run(trainer, 1, 30 + s)[0]!;
    results.push(r);
    if (results.every((x) => x.skipped)) {
      assert.match(r.skipReason!, /gradient norm is (Infinity|NaN) at loss scale \d+; scale lowered/);
      assert.deepEqual(paramValues(m), before, "a skipped step changes nothing");
    }
  }
  const firstGood = results.findIndex((r) => !r.skipped);
  assert.ok(firstGood > 2, `the first steps overflow (first good step: ${firstGood})`);
  const used = results.map((r) => r.lossScale!);
  assert.equal(used[firstGood], 2 ** (40 - firstGood), "the first good step uses the backed-off scale");
  assert.equal(used[firstGood - 1]! / used[firstGood]!, 2, "each overflow halves the scale");
  assert.ok(used.some((u, i) => i > firstGood && u === 2 * used[i - 1]!), "good steps grow the scale again");
  assert.ok(results.filter((r) => !r.skipped).length >= 10);
  assert.ok(maxAbsDiff(paramValues(m), before) > 1e-3, "training went on");
  assert.ok([...paramValues(m).values()].every((xs) => xs.every(Number.isFinite)));
  trainer.dispose();
  m.dispose();
});

test("LossScaler arithmetic and option errors", () => {
  const s = new LossScaler({ initScale: 8, growthInterval: 3 });
  s.update(true);
  assert.equal(s.scale, 4);
  for (let i = 0; i < 3; i++) s.update(false);
  assert.equal(s.scale, 8);
  assert.equal(s.growthTracker, 0);
  assert.throws(() => new LossScaler({ backoffFactor: 1 }), /lossScaling.backoffFactor/);
  assert.throws(() => new LossScaler({ initScale: 0 }), /lossScaling.initScale/);
});

test("checkpoints save and restore the float32 masters, fp32 optimizer state and the loss scale", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-mixed-"));
  const opts = { loss, optimizer: { lr: 1e-3, weightDecay: 0.1 }, entropy: false };
  for (const dtype of ["bfloat16", "float16"] as const) {
    const ls = dtype === "float16" ? { lossScaling: { initScale: 2 ** 10, growthInterval: 1 } } : {};
    const refModel = model(6, dtype);
    const ref = new Trainer({ model: refModel, ...opts, ...ls });
    run(ref, 4);
    const m1 = model(6, dtype);
    const t1 = new Trainer({ model: m1, ...opts, ...ls });
    run(t1, 2);
    const path = t1.save(join(dir, dtype));
    assert.ok(existsSync(join(path, "master-weights.safetensors")));
    const m2 = model(7, dtype); // different weights: everything must come from the checkpoint
    const t2 = new Trainer({ model: m2, ...opts, ...ls });
    t2.load(join(dir, dtype));
    assert.equal(t2.lossScale, t1.lossScale);
    assert.equal(maxAbsDiff(floats(t2.masterWeights()), floats(t1.masterWeights())), 0, "masters restored exactly (not from the rounded model)");
    run(t2, 2, 32);
    assert.equal(maxAbsDiff(floats(t2.masterWeights()), floats(ref.masterWeights())), 0, `${dtype}: resumed run equals the uninterrupted one`);
    assert.equal(maxAbsDiff(paramValues(m2), paramValues(refModel)), 0);
    for (const t of [ref, t1, t2]) t.dispose();
    for (const m of [refModel, m1, m2]) m.dispose();
  }
  rmSync(dir, { recursive: true, force: true });
});

test("a bf16 CausalLM trains through masters (GRPO loss, activation checkpointing on) and stays bf16", () => {
  const m = debugModel("qwen3", { seed: 8, dtype: "bfloat16" });
  const before = paramValues(m);
  const trainer = new Trainer<PolicyMicroBatch, ForwardModel>({ model: m, loss, optimizer: { lr: 1e-3 }, activationCheckpointing: true, entropy: true });
  const results = run(trainer, 2);
  assert.ok(results.every((r) => !r.skipped && Number.isFinite(r.loss) && r.gradNorm > 0));
  assert.ok(m.parameters().every((p) => p.dtype === "bfloat16"));
  assert.ok(maxAbsDiff(paramValues(m), before) > 0);
  assert.equal(trainer.masterWeights().size, m.parameters().length);
  trainer.dispose();
  // A frozen parameter gets no master (and is not updated).
  const norm = m.model.norm.weight;
  norm.requiresGrad_(false);
  const frozen = norm.toFlatArray();
  const t2 = new Trainer<PolicyMicroBatch, ForwardModel>({ model: m, loss, optimizer: { lr: 1e-3 } });
  assert.equal(t2.masterWeights().size, m.parameters().length - 1);
  assert.ok(!t2.masterWeights().has("model.norm.weight"));
  run(t2, 1);
  assert.deepEqual(norm.toFlatArray(), frozen);
  t2.dispose();
  m.dispose();
});
