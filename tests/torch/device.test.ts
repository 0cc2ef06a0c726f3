// Device plumbing that the GPU path relies on: moving batches (toDevice), pinned host copies
// (cpuPinned, the weight store's publish copy), and the NCCL backend's availability and errors.
// With TORCHFORGE_TEST_DEVICE=cuda (bench/gpu-check.sh) the GPU halves run too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { distributed, torch } from "../../src/torch/index.ts";
import { hostContiguous } from "../../src/store/tensors.ts";
import { freePort } from "../../src/actors/rank-launcher.ts";

const DEVICE = process.env.TORCHFORGE_TEST_DEVICE ?? "cpu";
const onGpu = DEVICE !== "cpu";

test("toDevice on the CPU returns the very same value (no copies); other fields pass through", () => {
  torch.tidy(() => {
    const a = torch.tensor([1, 2, 3]);
    const b = torch.tensor([[4]]);
    const batch = { ids: a, nested: { list: [b, 7, "x"] }, n: 3, when: new Date(0) };
    assert.equal(torch.toDevice(batch, "cpu"), batch);
    assert.equal(torch.toDevice(a, "cpu"), a);
    assert.deepEqual(torch.toDevice([1, null, "s"], "cpu"), [1, null, "s"]);
  });
});

test(`toDevice moves every tensor of a nested batch and keeps the rest (${DEVICE})`, { skip: !onGpu && "set TORCHFORGE_TEST_DEVICE=cuda on a GPU machine" }, () => {
  torch.tidy(() => {
    const batch = { ids: torch.tensor([1, 2, 3]), nested: { list: [torch.tensor([[4]]), 7] }, n: 3 };
    const moved = torch.toDevice(batch, DEVICE);
    assert.notEqual(moved, batch);
    assert.ok(moved.ids.device.startsWith("cuda") && (moved.nested.list[0] as typeof batch.ids).device.startsWith("cuda"));
    assert.equal(moved.nested.list[1], 7);
    assert.equal(moved.n, 3);
    assert.deepEqual(moved.ids.toFlatArray(), [1, 2, 3]);
    assert.equal(batch.ids.device, "cpu", "the input is untouched");
  });
});

test("cpuPinned on a CPU tensor is a contiguous CPU tensor with the same values (not pinned); the store's host copy keeps CPU tensors", () => {
  torch.tidy(() => {
    const t = torch.arange(12, undefined, { dtype: "float32" }).view(3, 4).transpose(0, 1);
    assert.equal(t.isContiguous(), false);
    const c = t.cpuPinned();
    assert.equal(c.device, "cpu");
    assert.equal(c.isContiguous(), true);
    assert.equal(c.isPinned(), false);
    assert.deepEqual(c.toArray(), t.toArray());
    const contiguous = torch.ones([5]);
    assert.equal(hostContiguous(contiguous), contiguous, "no copy for a contiguous CPU tensor");
  });
});

test(`a GPU tensor's host copy is pinned and equal (${DEVICE})`, { skip: !onGpu && "set TORCHFORGE_TEST_DEVICE=cuda on a GPU machine" }, () => {
  torch.tidy(() => {
    const g = torch.randn([64, 33]).to({ device: DEVICE });
    const h = hostContiguous(g);
    assert.equal(h.device, "cpu");
    assert.equal(h.isPinned(), true);
    assert.deepEqual(h.toFlatArray(), g.toFlatArray());
  });
});

test("backend 'nccl': a clear DistributedError where it cannot run; a working single-rank group where it can", async () => {
  if (!distributed.ncclAvailable()) {
    // Built without CUDA (or without the CUDA/NCCL headers): refused before any rendezvous, saying why.
    assert.throws(
      () => distributed.initProcessGroup({ backend: "nccl", worldSize: 1, rank: 0, masterPort: 1 }),
      (e: Error) => e instanceof distributed.DistributedError && /backend "nccl" is not built into this addon: .*use backend: "gloo"/.test(e.message),
    );
    return;
  }
  const port = await freePort();
  if (!torch.cuda.isAvailable()) {
    // Compiled in, but this machine has no GPU: libtorch's own check fails, wrapped with the group's name.
    assert.throws(() => distributed.initProcessGroup({ backend: "nccl", worldSize: 1, rank: 0, masterPort: port }), (e: Error) => e instanceof distributed.DistributedError && /NCCL process group/.test(e.message));
    return;
  }
  const group = distributed.initProcessGroup({ backend: "nccl", worldSize: 1, rank: 0, masterPort: port });
  try {
    assert.equal(group.backend, "nccl");
    const t = torch.tensor([1, 2, 3], { dtype: "float32" }).to({ device: "cuda:0" });
    await group.allReduce(t).wait();
    assert.deepEqual(t.toFlatArray(), [1, 2, 3], "a one-rank sum is the identity");
    await group.broadcast(t, 0).wait();
    assert.deepEqual(t.toFlatArray(), [1, 2, 3]);
    t.dispose();
  } finally {
    group.destroy();
  }
});
