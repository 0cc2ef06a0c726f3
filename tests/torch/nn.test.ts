import { test } from "node:test";
import assert from "node:assert/strict";
import { F, torch, nn, type Tensor } from "../../src/torch/index.ts";
import { assertClose } from "./helpers.ts";

class Block extends nn.Module {
  readonly qProj = this.registerModule("q_proj", new nn.Linear(4, 4, { bias: false }));
  readonly norm = this.registerModule("norm", new nn.RMSNorm(4));
  readonly layers = this.registerModule("layers", new nn.ModuleList([new nn.Linear(4, 2), new nn.Linear(2, 4)]));
  readonly scale: Tensor;
  constructor() {
    super();
    this.scale = this.registerBuffer("scale", torch.full([1], 2));
    this.registerBuffer("cache", torch.zeros([2]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    let h = this.norm.forward(this.qProj.forward(x));
    for (const l of this.layers) h = l.forward(h);
    return h.mul(this.scale);
  }
}

test("Module registers parameters by checkpoint path, not field name", () => {
  const b = new Block();
  assert.deepEqual([...b.namedParameters()].map(([k]) => k), [
    "q_proj.weight", "norm.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
  ]);
  assert.deepEqual([...b.stateDict().keys()].sort(), [
    "layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight", "norm.weight", "q_proj.weight", "scale",
  ]);
  assert.equal(b.numParameters(), 16 + 4 + 10 + 12);
  assert.ok(b.parameters().every((p) => p.requiresGrad));
  assert.deepEqual([...b.namedBuffers()].map(([k]) => k), ["scale", "cache"]);
  assert.equal(b.layers.at(-1).outFeatures, 4);
  assert.throws(() => b.layers.at(5), /index 5 out of range/);
  assert.throws(() => b.registerModule("norm", new nn.RMSNorm(2)), /already registered/);
  assert.throws(() => b.registerParameter("a.b", torch.zeros([1])), /without '\.'/);
  b.dispose();
});

test("loadStateDict copies values and reports key and shape problems", () => {
  torch.manualSeed(1);
  const a = new Block();
  const b = new Block();
  const x = torch.randn([3, 4]);
  assert.notDeepEqual(a.forward(x).toArray(), b.forward(x).toArray());
  b.loadStateDict(a.stateDict());
  assert.deepEqual(a.forward(x).toArray(), b.forward(x).toArray());
  const partial = new Map(a.stateDict());
  partial.delete("norm.weight");
  partial.set("extra", torch.zeros([1]));
  assert.throws(() => b.loadStateDict(partial), /missing keys: norm.weight \| unexpected keys: extra|missing keys: norm.weight.*unexpected keys: extra/);
  const res = b.loadStateDict(partial, { strict: false });
  assert.deepEqual(res, { missingKeys: ["norm.weight"], unexpectedKeys: ["extra"] });
  const wrong = new Map(a.stateDict());
  wrong.set("q_proj.weight", torch.zeros([4, 5]));
  assert.throws(() => b.loadStateDict(wrong), /shape mismatch: q_proj.weight: checkpoint \[4,5\] vs model \[4,4\]/);
  // Loading casts dtypes.
  const bf = new Map([...a.stateDict()].map(([k, t]) => [k, t.bfloat16()] as [string, Tensor]));
  b.loadStateDict(bf);
  assert.equal(b.qProj.weight.dtype, "float32");
});

test("Module.to changes dtype in place, keeping tensor identity; train/eval propagate", () => {
  const b = new Block();
  const w = b.qProj.weight;
  b.to("bfloat16");
  assert.equal(b.qProj.weight, w);
  assert.equal(w.dtype, "bfloat16");
  assert.equal(w.requiresGrad, true);
  assert.equal(b.forward(torch.randn([2, 4]).bfloat16()).dtype, "bfloat16");
  b.eval();
  assert.ok([...b.namedModules()].every(([, m]) => !m.training));
  b.train();
  assert.ok(b.layers.at(0).training);
});

test("layers initialise like PyTorch and validate their arguments", () => {
  torch.manualSeed(0);
  const l = new nn.Linear(100, 50);
  const bound = 1 / Math.sqrt(100);
  assert.ok(l.weight.abs().max().item() <= bound + 1e-7);
  assert.ok(l.weight.std().item() > bound / 2);
  assert.ok(l.bias!.abs().max().item() <= bound);
  const e = new nn.Embedding(1000, 16);
  assert.ok(Math.abs(e.weight.std().item() - 1) < 0.05);
  assertClose(new nn.RMSNorm(3).weight, [1, 1, 1]);
  assert.throws(() => new nn.Linear(0, 3), /argument 'inFeatures' must be a positive integer/);
  assert.throws(() => new nn.Embedding(3, 2.5), /argument 'embeddingDim'/);
  const t = torch.empty([30, 20]);
  nn.init.xavierUniform_(t);
  assert.ok(t.abs().max().item() <= Math.sqrt(6 / 50));
  assert.throws(() => nn.init.kaimingUniform_(torch.empty([3])), /at least 2 dims/);
});

test("module parameters survive tidy; module dispose frees them", () => {
  const before = torch.memory().numTensors;
  const m = torch.tidy(() => new nn.Linear(3, 3));
  assert.equal(m.weight.isDisposed, false);
  m.dispose();
  assert.equal(m.weight.isDisposed, true);
  assert.equal(torch.memory().numTensors, before);
});

test("linearPacked equals linear for decode-sized inputs, repacks in place, and Linear uses it only without grad", (t) => {
  if (!F.packedLinearAvailable()) return t.skip("libtorch without MKL: no packed GEMM");
  torch.manualSeed(4);
  const w = torch.randn([96, 48]);
  const b = torch.randn([96]);
  const packed = F.PackedLinearWeight.pack(w);
  for (const shape of [[1, 48], [64, 48], [3, 5, 48], [0, 48]]) {
    const x = torch.randn(shape);
    const want = F.linear(x, w, b);
    const got = F.linearPacked(x, packed, b);
    assert.deepEqual(got.shape, want.shape);
    if (x.numel > 0) assert.ok(got.sub(want).abs().max().item() < 1e-4, `shape ${shape}`);
  }
  const w2 = w.mul(-2);
  packed.repack(w2);
  const x = torch.randn([4, 48]);
  assert.ok(F.linearPacked(x, packed).sub(F.linear(x, w2)).abs().max().item() < 1e-4);
  assert.throws(() => packed.repack(torch.randn([48, 96])), /must have shape \[96, 48\]/);
  assert.throws(() => F.linearPacked(torch.randn([2, 47]), packed), /last dim is inFeatures \(48\)/);
  assert.throws(() => F.PackedLinearWeight.pack(torch.randn([4, 4]).to("bfloat16")), /2-D float32 CPU tensor/);

  const layer = new nn.Linear(48, 96);
  layer.inferencePack = F.PackedLinearWeight.pack(layer.weight.mul(3)); // deliberately different
  const viaPack = F.withPackedLinears(() => torch.noGrad(() => layer.forward(x)));
  const outside = torch.noGrad(() => layer.forward(x)); // not inside withPackedLinears: the real weight
  const withGrad = F.withPackedLinears(() => layer.forward(x)); // autograd recording: the real weight
  assert.ok(viaPack.sub(F.linear(x, layer.weight.mul(3), layer.bias)).abs().max().item() < 1e-4);
  for (const y of [outside, withGrad]) assert.ok(y.sub(F.linear(x, layer.weight, layer.bias)).abs().max().item() < 1e-6);
  layer.inferencePack.dispose();
  packed.dispose();
});
