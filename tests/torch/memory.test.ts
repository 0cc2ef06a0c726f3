import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, nn, optim, TorchError, type Tensor } from "../../src/torch/index.ts";

test("tidy disposes intermediates, keeps results (nested), and cleans up on throw", () => {
  const base = torch.memory().numTensors;
  const kept: Tensor[] = [];
  const result = torch.tidy(() => {
    const a = torch.ones([4]);
    const inner = torch.tidy(() => {
      const tmp = a.mul(3);
      return { x: tmp.add(1), list: [tmp.sub(1)] };
    });
    kept.push(torch.keep(a.mul(10)));
    return [inner.x, inner.list[0]!];
  });
  assert.equal(torch.memory().numTensors, base + 3);
  assert.deepEqual(result.map((t) => t.toArray()), [[4, 4, 4, 4], [2, 2, 2, 2]]);
  torch.dispose([result, kept]);
  assert.equal(torch.memory().numTensors, base);
  assert.throws(() => torch.tidy(() => {
    torch.ones([2]);
    throw new Error("boom");
  }), /boom/);
  assert.equal(torch.memory().numTensors, base, "a throwing scope still frees its tensors");
  assert.throws(() => torch.tidy((() => Promise.resolve(1)) as never), /fn must be synchronous/);
});

test("dispose is idempotent; use after dispose is an error, not a crash", () => {
  const t = torch.ones([2]);
  const view = t.view(2, 1);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), (e: Error) => e instanceof TorchError && /was disposed/.test(e.message));
  assert.throws(() => t.shape, TorchError);
  assert.equal(String(t), "Tensor(disposed)");
  assert.deepEqual(view.toArray(), [[1], [1]], "a view keeps the shared storage alive");
  {
    using scoped = torch.zeros([3]);
    assert.equal(scoped.numel, 3);
  }
});

test("a disposed tensor stays disposed after its native slot is reused; keep and repeated results inside tidy", () => {
  const old = torch.ones([2]);
  old.dispose();
  const fresh = Array.from({ length: 8 }, () => torch.zeros([2])); // one of these takes old's slot
  assert.throws(() => old.add(1), (e: Error) => e instanceof TorchError && /was disposed/.test(e.message));
  torch.dispose(fresh);

  const base = torch.memory().numTensors;
  let kept: Tensor | undefined;
  const [x, y] = torch.tidy(() => {
    const a = torch.ones([3]);
    kept = torch.tidy(() => torch.keep(a.mul(2)));
    const b = a.add(1);
    return [b, b]; // the same tensor twice: moved out once, not disposed
  });
  assert.equal(x, y);
  assert.deepEqual(x!.toArray(), [2, 2, 2]);
  assert.deepEqual(kept!.toArray(), [2, 2, 2]);
  assert.equal(torch.memory().numTensors, base + 2);
  torch.dispose([x, kept]);
  assert.equal(torch.memory().numTensors, base);
});

test("small blocks of every size class come back from the allocator's per-thread cache intact", () => {
  // Byte sizes across the small classes (64-byte steps, then four per power of two to 128 KiB).
  const sizes = [1, 15, 16, 17, 64, 255, 256, 300, 1023, 1024, 1500, 4096, 5000, 20_000, 32_767, 32_768 - 1];
  for (let round = 0; round < 3; round++) {
    const live = sizes.map((n, i) => torch.full([n], i + round));
    live.forEach((t, i) => {
      const s = t.sum().item();
      assert.equal(s, sizes[i]! * (i + round), `size ${sizes[i]} round ${round}`);
    });
    // Free in an order different from allocation, then allocate again from the cache.
    for (let i = live.length - 1; i >= 0; i -= 2) live[i]!.dispose();
    for (let i = live.length - 2; i >= 0; i -= 2) live[i]!.dispose();
  }
});

test("a 3,000-step training loop holds tensor count and allocator bytes flat", () => {
  torch.manualSeed(0);
  const model = new nn.Linear(16, 1);
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
  const x = torch.randn([32, 16]);
  const y = torch.randn([32, 1]);
  const step = () => {
    opt.zeroGrad();
    torch.tidy(() => model.forward(x).sub(y).square().mean().backward());
    optim.clipGradNorm(model.parameters(), 1);
    opt.step();
  };
  for (let i = 0; i < 50; i++) step();
  const warm = torch.memory();
  const rssWarm = process.memoryUsage().rss;
  for (let i = 0; i < 3000; i++) step();
  const end = torch.memory();
  assert.equal(end.numTensors, warm.numTensors, "live tensor handles grew");
  assert.ok(end.allocatedBytes <= warm.allocatedBytes, `allocator bytes grew ${warm.allocatedBytes} → ${end.allocatedBytes}`);
  const growth = process.memoryUsage().rss / rssWarm - 1;
  assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}%`);
  opt.dispose();
  model.dispose();
  torch.dispose([x, y]);
});

test("the caching allocator reuses large blocks instead of faulting fresh pages", () => {
  const stats0 = torch.memory();
  assert.equal(stats0.installed, process.env.TORCHFORGE_CPU_ALLOCATOR !== "default");
  if (!stats0.installed) return;
  for (let i = 0; i < 5; i++) torch.tidy(() => torch.ones([1024, 1024]).mul(2).sum());
  const s = torch.memory();
  assert.ok(s.cacheHits - stats0.cacheHits >= 4, `expected cache hits, got ${s.cacheHits - stats0.cacheHits}`);
  assert.ok(s.cachedBytes >= 4 * 1024 * 1024);
  torch.emptyCache();
  assert.equal(torch.memory().cachedBytes, 0);
});

test("bytes() aliases tensor memory and outlives dispose", () => {
  const t = torch.zeros([2], { dtype: "float32" });
  const view = t.bytes();
  assert.equal(view.byteLength, 8);
  new Float32Array(view.buffer, view.byteOffset, 2).set([1.5, -2]);
  assert.deepEqual(t.toArray(), [1.5, -2]);
  t.dispose();
  assert.equal(new Float32Array(view.buffer, view.byteOffset, 2)[0], 1.5);
  assert.throws(() => torch.zeros([2, 2]).t().bytes(), /contiguous CPU tensor/);
});

test("tensors that escape every scope and are dropped are freed by the garbage collector", async () => {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const base = torch.memory().numTensors;
  for (let i = 0; i < 5000; i++) torch.ones([4]).add(1); // never disposed, no tidy
  assert.ok(torch.memory().numTensors >= base + 5000);
  for (let round = 0; round < 20 && torch.memory().numTensors > base; round++) {
    await new Promise((r) => setImmediate(r)); // lets pending registrations flush
    gc();
    await new Promise((r) => setTimeout(r, 10)); // finalization callbacks run from the event loop
  }
  // Earlier tests' dropped tensors may be collected too, so the count can end below `base`.
  assert.ok(torch.memory().numTensors <= base, `${torch.memory().numTensors} live tensors, expected <= ${base}`);
});
