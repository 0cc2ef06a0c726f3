import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, optim, type Tensor } from "../../src/torch/index.ts";
import { assertClose, golden } from "./helpers.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function lin(n: number, scale = 1, shift = 0): number[] {
  return Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + shift));
}

/** Same loss and inputs as scripts/golden/torch-golden.py's trajectory(). */
function trajectory<O extends optim.Optimizer<any>>(make: (params: Tensor[]) => O, steps = 5) {
  const w = torch.tensor(lin(6, 0.5), { dtype: "float64", shape: [2, 3], requiresGrad: true });
  const b = torch.tensor(lin(3, 0.3, 1), { dtype: "float64", requiresGrad: true });
  const x = torch.tensor(lin(12, 1, 2), { dtype: "float64", shape: [4, 3] });
  const opt = make([w, b]);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    losses.push(torch.tidy(() => {
      const y = x.matmul(w.t()).tanh().sum().add(b.mul(b).sum()).add(w.pow(3).sum());
      y.backward();
      return y.item();
    }));
    opt.step();
  }
  return { w, b, losses, opt };
}

test("AdamW follows PyTorch's trajectory exactly (golden)", () => {
  const g = golden().adamw;
  const r = trajectory((p) => new optim.AdamW(p, { lr: 0.05, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 }));
  assertClose(r.w, g.w, { rtol: 1e-12, atol: 1e-14 });
  assertClose(r.b, g.b, { rtol: 1e-12, atol: 1e-14 });
  assertClose(r.losses, g.losses, { rtol: 1e-12 });
});

test("Adam (L2 weight decay through the moments) follows PyTorch's trajectory exactly (golden)", () => {
  const g = golden().adam;
  const r = trajectory((p) => new optim.Adam(p, { lr: 0.05, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 }));
  assertClose(r.w, g.w, { rtol: 1e-12, atol: 1e-14 });
  assertClose(r.b, g.b, { rtol: 1e-12, atol: 1e-14 });
  assertClose(r.losses, g.losses, { rtol: 1e-12 });
  // Not AdamW under another name: decoupled decay takes another path.
  const decoupled = trajectory((p) => new optim.AdamW(p, { lr: 0.05, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 }));
  assert.ok(Math.abs(decoupled.w.toFlatArray()[0]! - r.w.toFlatArray()[0]!) > 1e-6);
});

test("Adam leaves the caller's gradient as it was after the step", () => {
  const w = torch.tensor([1, -2, 3], { dtype: "float64", requiresGrad: true });
  const opt = new optim.Adam([w], { lr: 0.1, weightDecay: 0.5 });
  torch.tidy(() => w.mul(w).sum().backward());
  opt.step();
  assert.deepEqual(w.grad!.toFlatArray(), [2, -4, 6], "the gradient, not gradient + wd·θ");
  assert.equal(new optim.Adam([torch.zeros([1], { requiresGrad: true })]).paramGroups[0]!.hyper.weightDecay, 0, "PyTorch's default: no decay");
});

test("SGD variants follow PyTorch's trajectories (golden)", () => {
  const g = golden();
  const cases: [string, Partial<optim.SGDOptions>][] = [
    ["sgd_momentum", { momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
    ["sgd_nesterov", { momentum: 0.9, nesterov: true }],
    ["sgd_plain", {}],
  ];
  for (const [key, opts] of cases) {
    const r = trajectory((p) => new optim.SGD(p, { lr: 0.05, ...opts }));
    assertClose(r.w, g[key].w, { rtol: 1e-12, atol: 1e-14 });
    assertClose(r.losses, g[key].losses, { rtol: 1e-12 });
  }
});

test("clipGradNorm scales gradients like torch.nn.utils.clip_grad_norm_ (golden)", () => {
  const g = golden().clip;
  const a = torch.tensor(lin(4, 2), { dtype: "float64", requiresGrad: true });
  const b = torch.tensor(lin(3, 3, 0.5), { dtype: "float64", requiresGrad: true });
  a.mul(a).sum().add(b.mul(b).mul(b).sum()).backward();
  const total = optim.clipGradNorm([a, b], 1.0);
  assertClose([total], [g.total], { rtol: 1e-12 });
  assertClose(a.grad!, g.ga, { rtol: 1e-10 });
  assertClose(b.grad!, g.gb, { rtol: 1e-10 });
  assert.throws(() => optim.clipGradNorm([a], 0), /'maxNorm' must be > 0/);
  assert.equal(optim.clipGradNorm([torch.zeros([2])], 1), 0, "no gradients → norm 0");
});

test("param groups carry their own hyperparameters; parameters without grads are skipped", () => {
  const a = torch.ones([2], { requiresGrad: true });
  const b = torch.ones([2], { requiresGrad: true });
  const opt = new optim.SGD([{ params: [a] }, { params: [b], options: { lr: 0.5 } }], { lr: 0.1 });
  a.sum().backward();
  opt.step();
  assertClose(a, [0.9, 0.9]);
  assertClose(b, [1, 1], { atol: 0 });
  assert.throws(() => new optim.AdamW([a, a]), /more than one group/);
  assert.throws(() => new optim.AdamW([]), /empty parameter list/);
  assert.throws(() => new optim.AdamW([a], { lr: -1 }), /'lr' must be a finite number >= 0/);
  assert.throws(() => new optim.AdamW([a], { betas: [0.9, 1.2] }), /'betas' must be two numbers in \[0, 1\)/);
  assert.throws(() => new optim.SGD([a], { lr: 0.1, nesterov: true }), /'nesterov' needs momentum > 0/);
});

test("optimizer state save/load resumes the exact trajectory", () => {
  const full = trajectory((p) => new optim.AdamW(p, { lr: 0.05 }), 6);
  const part = trajectory((p) => new optim.AdamW(p, { lr: 0.05 }), 3);
  const sd = part.opt.stateDict();
  assert.equal(sd.state[0]!.step, 3);
  assert.deepEqual(Object.keys(sd.state[0]!.tensors).sort(), ["expAvg", "expAvgSq"]);
  // A fresh optimizer on copies of the parameters continues where the first stopped.
  const w = part.w.detach().clone().requiresGrad_();
  const b = part.b.detach().clone().requiresGrad_();
  const resumed = new optim.AdamW([w, b], { lr: 0.05 });
  // Through a file, as a checkpoint would.
  const file = join(mkdtempSync(join(tmpdir(), "tf-opt-")), "optimizer.safetensors");
  optim.saveOptimizerState(file, sd);
  const loadedState = optim.loadOptimizerState<optim.AdamWOptions>(file);
  const before = torch.memory().numTensors;
  resumed.loadStateDict(loadedState);
  assert.equal(torch.memory().numTensors, before + 4, "loadStateDict holds exactly its own copies");
  const x = torch.tensor(lin(12, 1, 2), { dtype: "float64", shape: [4, 3] });
  for (let i = 0; i < 3; i++) {
    resumed.zeroGrad();
    torch.tidy(() => x.matmul(w.t()).tanh().sum().add(b.mul(b).sum()).add(w.pow(3).sum()).backward());
    resumed.step();
  }
  assertClose(w, full.w.toArray(), { rtol: 1e-14, atol: 1e-15 });
  assert.throws(() => resumed.loadStateDict({ ...sd, paramGroups: [] }), /0 param groups, optimizer has 1/);
});

test("LR schedules: warmup then constant, cosine or linear decay", () => {
  const p = torch.zeros([1], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 1 });
  const sched = new optim.LRScheduler(opt, { warmupSteps: 4, totalSteps: 14, decay: "cosine", minLrRatio: 0.1 });
  const lrs: number[] = [];
  for (let i = 0; i < 16; i++) {
    lrs.push(opt.lr);
    sched.step();
  }
  assertClose(lrs.slice(0, 5), [0.2, 0.4, 0.6, 0.8, 1]);
  assertClose([lrs[9]!], [0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.5))]);
  assertClose(lrs.slice(14), [0.1, 0.1]);
  assertClose([optim.warmupFactor(7, { warmupSteps: 2, totalSteps: 12, decay: "linear" })], [0.5]);
  assert.equal(optim.warmupFactor(100, { warmupSteps: 2 }), 1);
  const sd = sched.stateDict();
  const opt2 = new optim.SGD([p], { lr: 1 });
  const s2 = new optim.LRScheduler(opt2, { warmupSteps: 4, totalSteps: 14, decay: "cosine", minLrRatio: 0.1 });
  s2.loadStateDict(sd);
  assert.equal(opt2.lr, opt.lr);
  assert.throws(() => new optim.LRScheduler(opt, { decay: "cosine" }), /'totalSteps' must be an integer > warmupSteps/);
  assert.throws(() => new optim.LRScheduler(opt, { decay: "step" as never }), /'decay' must be constant, cosine or linear/);
});
