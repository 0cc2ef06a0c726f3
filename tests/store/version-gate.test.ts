import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InProcessStore, SharedMemoryStore, StoreArgumentError, VersionGate, VersionedStore, WeightSyncer, type StateDict } from "../../src/store/index.ts";
import { torch } from "../../src/torch/index.ts";
import { allEqual, versionDict, versionDictLike } from "./fixtures/values.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("VersionGate", () => {
  it("pauses admission, drains in-flight requests, loads, bumps the version, resumes", async () => {
    const gate = new VersionGate(1);
    const log: string[] = [];
    const slow = gate.run(async (v) => {
      log.push(`slow start v${v}`);
      await sleep(30);
      log.push("slow end");
      return v;
    });
    await sleep(1);
    const update = gate.update(2, async () => {
      assert.equal(gate.inFlight, 0, "nothing in flight during load");
      log.push("load");
    });
    await sleep(1);
    assert.equal(gate.paused, true);
    const late = gate.run(async (v) => {
      log.push(`late v${v}`);
      return v;
    });
    assert.equal(await slow, 1);
    const timing = await update;
    assert.equal(await late, 2, "a request admitted after the update sees the new version");
    assert.deepEqual(log, ["slow start v1", "slow end", "load", "late v2"]);
    assert.equal(gate.version, 2);
    assert.ok(timing.drainMs > 0 && timing.pausedMs >= timing.drainMs + timing.loadMs - 1, JSON.stringify(timing));
  });

  it("lets a long request step aside at a token boundary instead of draining it", async () => {
    const gate = new VersionGate(0);
    const versionsSeen: number[] = [];
    let stop = false;
    const long = gate.run(async (v) => {
      versionsSeen.push(v);
      while (!stop) {
        await sleep(2);
        const now = await gate.boundary();
        if (now !== versionsSeen[versionsSeen.length - 1]) versionsSeen.push(now);
      }
    });
    await sleep(5);
    const timing = await gate.update(1, () => {});
    assert.ok(timing.drainMs < 100, "update did not wait for the long request to finish");
    await sleep(5);
    stop = true;
    await long;
    assert.deepEqual(versionsSeen, [0, 1]);
  });

  it("a failing load keeps the old version and reopens admission", async () => {
    const gate = new VersionGate(3);
    await assert.rejects(gate.update(4, () => { throw new Error("load failed"); }), /load failed/);
    assert.equal(gate.version, 3);
    assert.equal(gate.paused, false);
    assert.equal(await gate.run(async (v) => v), 3);
    assert.throws(() => gate.update(-1, () => {}), StoreArgumentError);
  });
});

describe("WeightSyncer", () => {
  it("prefetches into reused staging tensors while requests run, then applies under a short pause", async () => {
    const store = SharedMemoryStore.create({ name: `test-${process.pid}-syncer` });
    try {
      const numel = 1 << 16;
      const trainer = new VersionedStore(store, { keepLast: 2 });
      const generatorSide = new VersionedStore(SharedMemoryStore.open({ root: store.root }));
      const params = versionDictLike(numel); // the "model"
      const fetched: (StateDict | undefined)[] = [];
      const syncer = new WeightSyncer({
        fetch: async (v, staging) => {
          fetched.push(staging);
          return (await generatorSide.get(v, { into: staging })).value;
        },
        apply: (w) => torch.noGrad(() => { for (const [k, t] of w) params.get(k)!.copy_(t); }),
      });
      for (let v = 1; v <= 3; v++) {
        await trainer.publish(v, versionDict(v, numel));
        const requests = [1, 2, 3].map(() => syncer.gate.run(async (ver) => { await sleep(5); return ver; }));
        await syncer.prefetch(v);
        const timing = await syncer.update(v);
        assert.deepEqual(await Promise.all(requests), [v - 1, v - 1, v - 1], "requests in flight finished on the old weights");
        assert.equal(syncer.gate.version, v);
        assert.ok(allEqual(params, v), `params hold version ${v}`);
        assert.ok(timing.fetchWaitMs < 50 && timing.pausedMs >= timing.loadMs, JSON.stringify(timing));
      }
      assert.equal(fetched[0], undefined);
      assert.ok(fetched[1] !== undefined && fetched[2] === fetched[1], "staging tensors are reused after the first fetch");
      assert.equal((await syncer.update(2)).pausedMs, 0, "an older version is a no-op");
    } finally {
      await store.close();
    }
  });

  it("update without prefetch fetches first; fetch errors surface from update", async () => {
    const store = new InProcessStore();
    const versions = new VersionedStore(store);
    await versions.publish(5, new Map([["w", torch.full([4], 5)]]));
    let applied = -1;
    const syncer = new WeightSyncer({ fetch: async (v) => (await versions.get(v)).value, apply: (w, v) => { applied = v; assert.equal(w.get("w")!.item !== undefined, true); } });
    await syncer.update(5);
    assert.equal(applied, 5);
    await assert.rejects(syncer.update(6), /no key 'policy\/v6'/);
    assert.equal(syncer.gate.version, 5);
    assert.throws(() => new WeightSyncer({} as never), /options.fetch' must be a function/);
  });
});

describe("copyStateDict", () => {
  it("copies by name (memcpy for contiguous CPU tensors, copy_ otherwise) and names mismatches", async () => {
    const { copyStateDict } = await import("../../src/store/index.ts");
    const dst = new Map([["a", torch.zeros([2, 3])], ["b", torch.zeros([3, 2], { dtype: "bfloat16" })]]);
    const src = new Map([["a", torch.arange(6, undefined, { dtype: "float32" }).reshape(2, 3)], ["b", torch.ones([2, 3], { dtype: "bfloat16" }).t()]]);
    const a = dst.get("a");
    copyStateDict(dst, src);
    assert.equal(dst.get("a"), a);
    assert.deepEqual(dst.get("a")!.toFlatArray(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(dst.get("b")!.toFlatArray(), [1, 1, 1, 1, 1, 1]);
    assert.throws(() => copyStateDict(dst, new Map([["c", torch.zeros([1])]])), /dst.get\("c"\) must be a tensor/);
    assert.throws(() => copyStateDict(dst, new Map([["a", torch.zeros([3, 2])]])), /shape must be \[3, 2\].*got \[2, 3\]/);
  });
});
