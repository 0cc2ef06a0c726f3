// GradReducer in one process (a 1-rank Gloo group, whose all-reduce is the identity): bucket
// assignment, buckets started inside backward, no-sync micro-batches, unused parameters, a
// gradient that arrives after its bucket started, float32 targets of bf16 parameters, errors.
// The cross-process sums are in grad-reducer-ranks.test.ts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { torch, distributed, GradReducer, DEFAULT_BUCKET_BYTES, type Tensor } from "../../src/torch/index.ts";
import { freePort } from "../../src/actors/rank-launcher.ts";

torch.setNumThreads(1);
const group = distributed.initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), name: "reducer-test" });
after(() => group.destroy());

const leaf = (shape: number[], seed: number, dtype: "float32" | "bfloat16" = "float32") => {
  torch.manualSeed(seed);
  return torch.keep(torch.randn(shape, { dtype }).requiresGrad_(true));
};
const grads = (ps: Tensor[]) => torch.tidy(() => ps.map((p) => (p.grad === null ? null : p.grad.toFlatArray())));
const close = (a: number[] | null, b: number[] | null, tol = 1e-6) => {
  assert.ok(a !== null && b !== null, "both have a gradient");
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= tol, `element ${i}: ${x} vs ${b[i]}`));
};

/** A 3-layer chain x → tanh(x W1) → tanh(· W2) → · W3, summed: every weight is used once. */
function chain() {
  const ws = [leaf([4, 6], 1), leaf([6, 5], 2), leaf([5, 3], 3)];
  const loss = (seed: number) =>
    torch.tidy(() => {
      torch.manualSeed(100 + seed);
      const x = torch.randn([2, 4]);
      x.matmul(ws[0]!).tanh().matmul(ws[1]!).tanh().matmul(ws[2]!).square().sum().backward();
    });
  return { ws, loss };
}
const zero = (ps: Tensor[]) => ps.forEach((p) => (p.grad = null));

test("buckets: reverse registration order, closed before they pass bucketBytes, one run per dtype", () => {
  const ps = [leaf([4, 4], 1), leaf([8], 2), leaf([16, 4], 3), leaf([2], 4)]; // 64, 32, 256, 8 bytes
  const r = new GradReducer(group, ps, { bucketBytes: 100, names: ["a", "b", "c", "d"] });
  assert.deepEqual(r.buckets(), [["d"], ["c"], ["b", "a"]]);
  r.dispose();
  const mixed = [leaf([4], 5), leaf([4], 6, "bfloat16"), leaf([4], 7)];
  const m = new GradReducer(group, mixed, { names: ["x", "y", "z"] });
  assert.deepEqual(m.buckets(), [["z", "x"], ["y"]]);
  m.dispose();
  assert.equal(DEFAULT_BUCKET_BYTES, 25 * 1024 * 1024);
  torch.dispose([...ps, ...mixed]);
});

test("every bucket starts inside backward; gradients come back equal (1 rank) and scaled", () => {
  const { ws, loss } = chain();
  loss(0);
  const ref = grads(ws);
  zero(ws);
  const r = new GradReducer(group, ws, { bucketBytes: 64 });
  loss(0);
  const rep = r.finish({ scale: 0.5 });
  assert.equal(rep.bucketCount, 3);
  assert.equal(rep.launchedInBackward, 3, "all three buckets were started by the hooks");
  assert.deepEqual(rep.locallyUnused, []);
  grads(ws).forEach((g, i) => close(g, ref[i]!.map((x) => x / 2)));
  // A second pass starts afresh (new buckets; the old gradients are views of the old ones).
  zero(ws);
  loss(0);
  assert.equal(r.finish().launchedInBackward, 3);
  grads(ws).forEach((g, i) => close(g, ref[i]!));
  r.dispose();
  torch.dispose(ws);
});

test("requireSync false accumulates without reducing; the synced micro-batch reduces the sum", () => {
  const { ws, loss } = chain();
  loss(1);
  loss(2);
  const ref = grads(ws);
  zero(ws);
  const r = new GradReducer(group, ws, { bucketBytes: 64 });
  r.requireSync = false;
  loss(1);
  r.requireSync = true;
  loss(2);
  const rep = r.finish();
  assert.equal(rep.launchedInBackward, 3);
  grads(ws).forEach((g, i) => close(g, ref[i]!));
  // No synced backward at all: finish still reduces everything (the buckets start there).
  zero(ws);
  r.requireSync = false;
  loss(1);
  loss(2);
  const late = r.finish();
  assert.equal(late.launchedInBackward, 0);
  assert.deepEqual(late.locallyUnused, ["params[0]", "params[1]", "params[2]"]);
  grads(ws).forEach((g, i) => close(g, ref[i]!));
  r.dispose();
  torch.dispose(ws);
});

test("unused parameters: one with a gradient from an earlier micro-batch keeps it, one without any stays without", () => {
  const used = leaf([3], 1);
  const early = leaf([3], 2);
  const never = leaf([3], 3);
  const r = new GradReducer(group, [used, early, never], { bucketBytes: 1 << 20, names: ["used", "early", "never"] });
  r.requireSync = false;
  torch.tidy(() => used.mul(early).sum().backward());
  r.requireSync = true;
  torch.tidy(() => used.square().sum().backward());
  const rep = r.finish();
  assert.deepEqual(rep.locallyUnused, ["early", "never"]);
  assert.deepEqual(rep.globallyUnused, ["never"]);
  assert.equal(rep.launchedInBackward, 0, "the one bucket waited for the unused parameters");
  const [gu, ge, gn] = grads([used, early, never]);
  const u = used.toFlatArray();
  const e = early.toFlatArray();
  close(gu, u.map((x, i) => e[i]! + 2 * x));
  close(ge, u);
  assert.equal(gn, null);
  r.dispose();
  torch.dispose([used, early, never]);
});

test("a gradient accumulated after its bucket started is reduced again; the next pass waits for it", () => {
  const w = leaf([4], 1); // registered first: its bucket is the last to start
  const v = leaf([4], 2);
  const r = new GradReducer(group, [w, v], { bucketBytes: 16, names: ["w", "v"] });
  // Two backward calls in one pass, as activation checkpointing does: v twice.
  const pass = () => {
    torch.tidy(() => v.mul(w).sum().backward());
    torch.tidy(() => v.square().sum().backward());
  };
  pass();
  const first = r.finish();
  assert.deepEqual(first.lateBuckets, [0], "v's bucket started after its first gradient");
  const wv = w.toFlatArray();
  const vv = v.toFlatArray();
  const expectV = vv.map((x, i) => wv[i]! + 2 * x);
  close(grads([v])[0]!, expectV);
  close(grads([w])[0]!, vv);
  zero([w, v]);
  pass();
  const second = r.finish();
  assert.deepEqual(second.lateBuckets, [], "v is now expected twice per pass");
  assert.equal(second.launchedInBackward, 2);
  close(grads([v])[0]!, expectV);
  r.dispose();
  torch.dispose([w, v]);
});

test("float32 targets of bf16 parameters: the sum lands on the target in float32, the bf16 gradient is dropped", () => {
  const p = leaf([5], 1, "bfloat16");
  const master = torch.keep(torch.noGrad(() => p.detach().to("float32")).requiresGrad_(true));
  const r = new GradReducer(group, [p], { targets: [master] });
  torch.tidy(() => p.mul(3).sum().backward());
  r.finish({ scale: 0.25 });
  assert.equal(grads([p])[0], null);
  const g = torch.tidy(() => {
    const t = master.grad!;
    return { dtype: t.dtype, values: t.toFlatArray() };
  });
  assert.equal(g.dtype, "float32");
  assert.deepEqual(g.values, [0.75, 0.75, 0.75, 0.75, 0.75]);
  r.dispose();
  torch.dispose([p, master]);
});

test("reset() drops a pass begun by backward; dispose() removes the hooks", () => {
  const { ws, loss } = chain();
  const r = new GradReducer(group, ws, { bucketBytes: 64 });
  loss(0);
  r.reset();
  zero(ws);
  loss(0);
  const ref = grads(ws);
  const rep = r.finish();
  assert.equal(rep.launchedInBackward, 3, "the pass after reset started from nothing");
  grads(ws).forEach((g, i) => close(g, ref[i]!));
  r.dispose();
  r.dispose(); // twice is fine
  assert.throws(() => (r.requireSync = true), (e: Error) => e instanceof distributed.DistributedError && /disposed/.test(e.message));
  // Without hooks the parameters train as usual (and a new reducer can take them).
  zero(ws);
  loss(0);
  grads(ws).forEach((g, i) => close(g, ref[i]!));
  const again = new GradReducer(group, ws);
  zero(ws);
  loss(0);
  assert.equal(again.finish().launchedInBackward, 1);
  again.dispose();
  torch.dispose(ws);
});

test("bad arguments are named", () => {
  const frozen = torch.keep(torch.zeros([2]));
  const ok = leaf([2], 1);
  assert.throws(() => new GradReducer(group, [ok, frozen]), /params\[1\]: expected a leaf tensor that requires grad/);
  assert.throws(() => new GradReducer(group, [ok, ok]), /params\[1\]: listed twice/);
  assert.throws(() => new GradReducer(group, [ok], { targets: [torch.zeros([3])] }), /targets\[0\]: expected as many elements/);
  assert.throws(() => new GradReducer(group, [ok], { bucketBytes: 0 }), /bucketBytes must be an integer > 0/);
  assert.throws(() => new GradReducer(group, [ok], { names: [] }), /names must hold one name per parameter/);
  assert.throws(() => new GradReducer(group, []), /params: expected at least one parameter/);
  torch.dispose([frozen, ok]);
});
