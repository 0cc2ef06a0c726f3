import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, optim, type Tensor } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer, NonFiniteLossError, TrainerOptionError, trainStepMetrics, type LossFn } from "../../src/trainer/index.ts";
import { TinyLM, batchOf, episodes, maxAbsDiff, paramValues } from "./helpers.ts";

torch.setNumThreads(1);

function sgdTrainer(model: TinyLM, lr = 0.5) {
  return new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: new optim.SGD(model.parameters(), { lr }), maxNorm: null, entropy: false });
}

test("grad accumulation over micro-batches equals the full batch (gradients, loss, resulting params)", () => {
  const eps = episodes(7);
  const lr = 0.5;
  const full = new TinyLM(3);
  const accum = new TinyLM(3);
  const p0 = paramValues(full);
  const a = sgdTrainer(full, lr);
  const b = sgdTrainer(accum, lr);
  const one = batchOf(eps, 1);
  const three = batchOf(eps, 3);
  assert.equal(three.inputs.length, 3);
  const ra = a.trainStep(one);
  const rb = b.trainStep(three);
  torch.dispose([one, three]);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-6, `loss ${ra.loss} vs ${rb.loss}`);
  assert.ok(Math.abs(ra.gradNorm - rb.gradNorm) < 1e-6, `grad norm ${ra.gradNorm} vs ${rb.gradNorm}`);
  assert.equal(ra.tokens, rb.tokens);
  assert.equal(rb.microBatches, 3);
  // SGD without momentum: Δθ = −lr·g, so equal deltas mean equal accumulated gradients.
  const pa = paramValues(full);
  const pb = paramValues(accum);
  assert.ok(maxAbsDiff(pa, p0) > 1e-4, "the step changed the parameters");
  assert.ok(maxAbsDiff(pa, pb) < 1e-6, `params differ by ${maxAbsDiff(pa, pb)}`);
  full.dispose();
  accum.dispose();
});

test("AdamW + warmup schedule: accumulated and full-batch runs stay equal over several steps; lr follows the schedule", () => {
  const runs = [1, 4].map((parts) => {
    const model = new TinyLM(5);
    const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 1e-2 }, schedule: { warmupSteps: 2 } });
    const lrs: number[] = [];
    for (let s = 0; s < 3; s++) {
      const batch = batchOf(episodes(8, 10 + s), parts);
      lrs.push(trainer.trainStep(batch).lr);
      torch.dispose(batch);
    }
    const values = paramValues(model);
    trainer.dispose();
    model.dispose();
    return { values, lrs };
  });
  assert.deepEqual(runs[0]!.lrs.map((x) => +x.toFixed(8)), [1e-2 / 3, 2e-2 / 3, 1e-2].map((x) => +x.toFixed(8)));
  assert.ok(maxAbsDiff(runs[0]!.values, runs[1]!.values) < 1e-5);
});

test("clipping: the reported norm is the pre-clip norm and the applied gradient has norm maxNorm", () => {
  const model = new TinyLM(7);
  const before = paramValues(model);
  const lr = 1;
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: new optim.SGD(model.parameters(), { lr }), maxNorm: 1e-3 });
  const batch = batchOf(episodes(6), 2);
  const r = trainer.trainStep(batch);
  torch.dispose(batch);
  assert.ok(r.gradNorm > 1e-3, `norm ${r.gradNorm} should exceed the clip`);
  let sq = 0;
  const after = paramValues(model);
  for (const [k, xs] of before) xs.forEach((x, i) => (sq += (after.get(k)![i]! - x) ** 2));
  assert.ok(Math.abs(Math.sqrt(sq) / lr - 1e-3) < 1e-6, `applied update norm ${Math.sqrt(sq)}`);
  model.dispose();
});

/** A LossFn whose loss is NaN on demand; token-mean cross-entropy otherwise. */
function ceLoss(bad: { nan: boolean }): LossFn<{ ids: Tensor; lossMask: Tensor }, TinyLM> {
  return ({ model, batch, globalTokenCount }) => {
    const logits = model.forward(batch.ids); // (B, T, V)
    const logp = logits.logSoftmax(-1).gather(-1, batch.ids.unsqueeze(-1)).squeeze(-1); // (B, T)
    let loss = logp.mul(batch.lossMask).sum().neg().div(globalTokenCount);
    if (bad.nan) loss = loss.mul(NaN);
    return { loss, metrics: { tokens: globalTokenCount } };
  };
}

test("NaN loss: the step is skipped with a warning (no update, grads dropped); maxBadSteps in a row abort", () => {
  const model = new TinyLM(1);
  const bad = { nan: false };
  const warnings: string[] = [];
  const trainer = new Trainer({ model, loss: ceLoss(bad), optimizer: { lr: 0.1 }, maxBadSteps: 3, warn: (m) => warnings.push(m) });
  const mb = { ids: torch.tensor([[1, 2, 3, 4]], { dtype: "int64" }), lossMask: torch.ones([1, 4]) };
  assert.equal(trainer.trainStep([mb]).skipped, false);
  const before = paramValues(model);
  bad.nan = true;
  const r1 = trainer.trainStep([mb]);
  assert.equal(r1.skipped, true);
  assert.match(r1.skipReason!, /loss is NaN/);
  assert.equal(r1.step, 1, "a skipped step is not counted");
  assert.equal(maxAbsDiff(before, paramValues(model)), 0, "no update on a skipped step");
  for (const p of model.parameters()) assert.equal(p.grad, null, "gradients dropped");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /skipping step 2 .*1\/3/);
  bad.nan = false;
  assert.equal(trainer.trainStep([mb]).skipped, false, "a good step resets the count");
  assert.equal(trainer.badSteps, 0);
  bad.nan = true;
  trainer.trainStep([mb]);
  trainer.trainStep([mb]);
  assert.throws(() => trainer.trainStep([mb]), (e: unknown) => e instanceof NonFiniteLossError && e.badSteps === 3 && /3 train steps in a row/.test(e.message));
  assert.equal(trainStepMetrics(r1)["trainer/skipped_steps"], 1);
  assert.equal(trainStepMetrics(r1)["loss/value"], undefined, "non-finite values are not recorded");
  torch.dispose(mb);
  trainer.dispose();
  model.dispose();
});

test("non-finite gradient norm with a finite loss also skips", () => {
  const model = new TinyLM(1);
  const loss: LossFn<{ ids: Tensor; lossMask: Tensor }, TinyLM> = ({ model: m, batch }) => {
    const w = m.head.weight;
    // sqrt'(0) = inf: finite value, infinite gradient.
    return { loss: w.mul(0).sum().sqrt().add(m.forward(batch.ids).mean()) };
  };
  const warnings: string[] = [];
  const trainer = new Trainer({ model, loss, warn: (m) => warnings.push(m) });
  const mb = { ids: torch.tensor([[1, 2]], { dtype: "int64" }), lossMask: torch.ones([1, 2]) };
  const r = trainer.trainStep([mb]);
  assert.equal(r.skipped, true);
  assert.match(r.skipReason!, /gradient norm is (NaN|Infinity)/);
  torch.dispose(mb);
  model.dispose();
});

test("no tensors leak across steps", () => {
  const model = new TinyLM(2);
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 1e-3 } });
  const step = () => {
    const batch = batchOf(episodes(6), 2);
    trainer.trainStep(batch);
    torch.dispose(batch);
  };
  step(); // creates the optimizer state
  const live = torch.memory().numTensors;
  step();
  step();
  assert.equal(torch.memory().numTensors, live);
  trainer.dispose();
  model.dispose();
});

test("step metrics carry torchforge names", () => {
  const model = new TinyLM(2);
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 1e-3 } });
  const batch = batchOf(episodes(6), 2);
  const r = trainer.trainStep(batch);
  torch.dispose(batch);
  const m = trainStepMetrics(r);
  for (const k of ["loss/value", "trainer/grad_norm", "trainer/lr", "trainer/tokens", "trainer/tokens_per_s", "main_perf/train_step_s", "loss/clip_fraction", "loss/entropy"]) {
    assert.equal(typeof m[k], "number", `missing ${k}: ${JSON.stringify(m)}`);
  }
  assert.equal(m["trainer/tokens"], r.tokens);
  assert.ok(r.tokens > 0 && r.timeS >= 0);
  trainer.dispose();
  model.dispose();
});

test("bad options are clear errors naming the option", () => {
  const model = new TinyLM(0);
  const loss = new GRPOLoss();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ model: {}, loss }, /'model' must be an nn.Module/],
    [{ model, loss: 3 }, /'loss' must be a Loss/],
    [{ model, loss, maxNorm: 0 }, /'maxNorm' must be a number > 0/],
    [{ model, loss, maxBadSteps: 0 }, /'maxBadSteps' must be an integer >= 1/],
    [{ model, loss, optimizer: { lr: -1 } }, /'optimizer.lr' must be a finite number >= 0/],
    [{ model, loss, optimizer: { learningRate: 1 } }, /'optimizer.learningRate' must be one of lr, betas/],
    [{ model, loss, schedule: { warmup: 3 } }, /'schedule.warmup' must be one of warmupSteps/],
    [{ model, loss, temperature: 0 }, /'temperature' must be a number > 0/],
  ];
  for (const [o, re] of cases) assert.throws(() => new Trainer(o as never), (e: unknown) => e instanceof TrainerOptionError && re.test(e.message), re.source);
  assert.throws(() => new Trainer({ model, loss, schedule: { decay: "cosine" } }), /totalSteps/);
  const t = new Trainer({ model, loss });
  assert.throws(() => t.trainStep([]), /'batch' must be a non-empty list/);
  const noMask = new Trainer({ model, loss: ceLoss({ nan: false }) as never });
  assert.throws(() => noMask.trainStep([{ ids: 1 }] as never), /'countTokens' must be given/);
  t.dispose();
  noMask.dispose();
  model.dispose();
});
