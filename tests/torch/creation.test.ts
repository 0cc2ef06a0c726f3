import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, TorchError } from "../../src/torch/index.ts";
import { assertClose } from "./helpers.ts";

test("tensor() infers shape and dtype like PyTorch", () => {
  const f = torch.tensor([[1.5, 2], [3, 4]]);
  assert.deepEqual(f.shape, [2, 2]);
  assert.equal(f.dtype, "float32");
  assert.deepEqual(f.toArray(), [[1.5, 2], [3, 4]]);
  const i = torch.tensor([1, 2, 3]);
  assert.equal(i.dtype, "int64");
  const b = torch.tensor([true, false]);
  assert.equal(b.dtype, "bool");
  assert.deepEqual(b.toArray(), [1, 0]);
  const s = torch.tensor(3.25);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.25);
});

test("tensor() from typed arrays keeps their dtype and takes a shape", () => {
  const t = torch.tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  assert.equal(t.dtype, "float64");
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(torch.tensor(new Int32Array([1, 2])).dtype, "int32");
  assert.equal(torch.tensor(new BigInt64Array([1n, 2n])).dtype, "int64");
  assert.equal(torch.tensor(new Uint8Array([1])).dtype, "uint8");
  const cast = torch.tensor(new Float32Array([1.5]), { dtype: "bfloat16" });
  assert.equal(cast.dtype, "bfloat16");
  assert.equal(cast.item(), 1.5);
});

test("every dtype converts back to JS values", () => {
  for (const dtype of ["float32", "float64", "bfloat16", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"] as const) {
    const t = torch.tensor([0, 1, 2].map((x) => (dtype === "bool" ? x % 2 : x)), { dtype });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.toArray(), dtype === "bool" ? [0, 1, 0] : [0, 1, 2], dtype);
  }
  assert.ok(torch.tensor([1, 2], { dtype: "int64" }).dataSync() instanceof BigInt64Array);
  assert.ok(torch.tensor([1, 2], { dtype: "bfloat16" }).dataSync() instanceof Float32Array);
});

test("zeros, ones, full, empty, eye, arange", () => {
  assert.deepEqual(torch.zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.deepEqual(torch.ones([3], { dtype: "int32" }).toArray(), [1, 1, 1]);
  assert.deepEqual(torch.full([2], 7.5).toArray(), [7.5, 7.5]);
  assert.deepEqual(torch.empty([0, 3]).shape, [0, 3]);
  assert.deepEqual(torch.eye(2).toArray(), [[1, 0], [0, 1]]);
  assert.deepEqual(torch.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(torch.arange(4).dtype, "int64");
  assert.deepEqual(torch.arange(1, 2, { step: 0.25 }).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(torch.arange(5, 0, { step: -2 }).toArray(), [5, 3, 1]);
  const z = torch.zerosLike(torch.ones([2, 3], { dtype: "bfloat16" }));
  assert.deepEqual([z.shape, z.dtype], [[2, 3], "bfloat16"]);
  assert.deepEqual(torch.fullLike(z, 2).toFlatArray(), [2, 2, 2, 2, 2, 2]);
});

test("random functions are reproducible with manualSeed and have the right moments", () => {
  torch.manualSeed(123);
  const a = torch.randn([1000]);
  torch.manualSeed(123);
  const b = torch.randn([1000]);
  assert.deepEqual(a.toFlatArray(), b.toFlatArray());
  assert.ok(Math.abs(a.mean().item()) < 0.15);
  assert.ok(Math.abs(a.std().item() - 1) < 0.1);
  const u = torch.rand([1000]);
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  const r = torch.randint(3, 6, [500]);
  assert.equal(r.dtype, "int64");
  assert.deepEqual([...new Set(r.toFlatArray())].sort(), [3, 4, 5]);
});

test("creation errors name the argument", () => {
  assert.throws(() => torch.zeros([2, -1]), /argument 'shape' must be an array of non-negative integers/);
  assert.throws(() => torch.zeros([2.5]), TypeError);
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged nested array at \[1\]/);
  assert.throws(() => torch.tensor(["a" as unknown as number]), /element \[0\] must be a number/);
  assert.throws(() => torch.tensor(new Float32Array(5), { shape: [2, 2] }), /data has 20 bytes but shape and dtype need 16/);
  assert.throws(() => torch.zeros([2], { dtype: "float8" as never }), /argument 'dtype' must be one of/);
  assert.throws(() => torch.manualSeed(-1), /argument 'seed'/);
  assert.throws(() => torch.arange(0, 1, { step: 0 }), /'step' must be non-zero/);
});

test("cuda device requests fail clearly when libtorch has no CUDA", (t) => {
  if (torch.cuda.isAvailable()) {
    const x = torch.ones([2], { device: "cuda:0" });
    assert.equal(x.device, "cuda:0");
    assertClose(x.add(1).cpu(), [2, 2]);
    return;
  }
  assert.equal(torch.cuda.deviceCount(), 0);
  assert.throws(() => torch.ones([2], { device: "cuda:0" }), TorchError);
  assert.throws(() => torch.ones([2]).to("cuda"), TorchError);
  t.diagnostic("CUDA not available: checked the error path only");
});
