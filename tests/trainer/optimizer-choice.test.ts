import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { optim } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer, TrainerOptionError, type OptimizerOptions } from "../../src/trainer/index.ts";
import { TinyLM, batchOf, episodes, maxAbsDiff, paramValues } from "./helpers.ts";

/** One step with the trainer building the optimizer from options vs the same step with it given ready-made. */
function stepBoth(options: OptimizerOptions, make: (m: TinyLM) => optim.Optimizer<{ lr: number }>) {
  const built = new TinyLM(5);
  const given = new TinyLM(5);
  const p0 = paramValues(built);
  const loss = () => new GRPOLoss({ beta: 0 });
  // Masters off: the given optimizer updates the model's own float32 tensors, the built one too.
  const a = new Trainer({ model: built, loss: loss(), optimizer: options, maxNorm: null, entropy: false, masterWeights: false });
  const b = new Trainer({ model: given, loss: loss(), optimizer: make(given), maxNorm: null, entropy: false });
  for (let i = 0; i < 3; i++) {
    const batch = batchOf(episodes(6, i + 1), 2);
    a.trainStep(batch);
    b.trainStep(batch);
  }
  return { a, b, built, given, p0 };
}

for (const [name, options, make] of [
  ["AdamW", { name: "AdamW", lr: 0.05, weightDecay: 0.1 }, (m: TinyLM) => new optim.AdamW(m.parameters(), { lr: 0.05, weightDecay: 0.1 })],
  ["Adam", { name: "Adam", lr: 0.05, weightDecay: 0.1, betas: [0.8, 0.99] }, (m: TinyLM) => new optim.Adam(m.parameters(), { lr: 0.05, weightDecay: 0.1, betas: [0.8, 0.99] })],
  ["SGD", { name: "SGD", lr: 0.3, momentum: 0.9, nesterov: true }, (m: TinyLM) => new optim.SGD(m.parameters(), { lr: 0.3, momentum: 0.9, nesterov: true })],
] as const) {
  test(`optimizer.name "${name}" builds ${name} with the given hyperparameters: the same steps as that optimizer given ready-made`, () => {
    const { a, b, built, given, p0 } = stepBoth(options as OptimizerOptions, make);
    assert.equal(a.optimizer.constructor, (make(new TinyLM(0)) as object).constructor);
    assert.ok(maxAbsDiff(paramValues(built), p0) > 1e-3, "the steps moved the weights");
    assert.ok(maxAbsDiff(paramValues(built), paramValues(given)) < 1e-12, `differs by ${maxAbsDiff(paramValues(built), paramValues(given))}`);
    a.dispose();
    b.dispose();
  });
}

test("the three rules really differ on the same steps (a name is never silently AdamW)", () => {
  const finals = (["AdamW", "Adam", "SGD"] as const).map((name) => {
    const model = new TinyLM(5);
    const t = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { name, lr: 0.05, weightDecay: 0.1 }, maxNorm: null, entropy: false });
    for (let i = 0; i < 3; i++) t.trainStep(batchOf(episodes(6, i + 1), 1));
    t.dispose();
    return paramValues(model);
  });
  assert.ok(maxAbsDiff(finals[0]!, finals[1]!) > 1e-5 && maxAbsDiff(finals[0]!, finals[2]!) > 1e-5 && maxAbsDiff(finals[1]!, finals[2]!) > 1e-5);
});

test("a hyperparameter the named optimizer lacks is an error naming it, not ignored", () => {
  const model = new TinyLM(0);
  const loss = new GRPOLoss();
  const cases: [unknown, RegExp][] = [
    [{ name: "SGD", lr: 0.1, betas: [0.9, 0.99] }, /'optimizer.betas' must be one of lr, weightDecay, momentum, nesterov, name \(not a SGD option \(it is AdamW\/Adam's\)\)/],
    [{ name: "AdamW", momentum: 0.9 }, /'optimizer.momentum' .*not a AdamW option \(it is SGD's\)/],
    [{ name: "Lion" }, /'optimizer.name' must be one of AdamW, Adam, SGD; got "Lion"/],
    [{ name: "SGD", nesterov: true }, /'optimizer.nesterov' must be false unless optimizer.momentum > 0/],
    [{ name: "SGD", momentum: -1 }, /'optimizer.momentum' must be a finite number >= 0/],
    [{ name: "SGD", nesterov: "yes" }, /'optimizer.nesterov' must be a boolean/],
    [[0.1], /'optimizer' must be options/],
  ];
  for (const [optimizer, re] of cases) {
    assert.throws(() => new Trainer({ model, loss, optimizer: optimizer as never }), (e: unknown) => e instanceof TrainerOptionError && re.test(e.message), re.source);
  }
});

test("resuming with another optimizer than the checkpoint's is a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-optim-choice-"));
  const model = new TinyLM(1);
  const sgd = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { name: "SGD", lr: 0.1, momentum: 0.9 }, entropy: false });
  sgd.trainStep(batchOf(episodes(4), 1));
  const path = sgd.save(dir);
  const adamw = new Trainer({ model: new TinyLM(1), loss: new GRPOLoss({ beta: 0 }), optimizer: { name: "AdamW" }, entropy: false });
  assert.throws(() => adamw.load(path), /saved by another optimizer \(hyperparameters dampening, lr, momentum, nesterov, weightDecay; this AdamW has betas, eps, lr, weightDecay\)/);
  const again = new Trainer({ model: new TinyLM(1), loss: new GRPOLoss({ beta: 0 }), optimizer: { name: "SGD", lr: 0.1, momentum: 0.9 }, entropy: false });
  again.load(path);
  assert.equal(again.optimizer.paramGroups[0]!.hyper.lr, sgd.optimizer.paramGroups[0]!.hyper.lr);
  for (const t of [sgd, adamw, again]) t.dispose();
});
