import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ChecksumError, SharedMemoryStore, StaleManifestError, StoreArgumentError, StoreError, UnknownKeyError, VersionedStore, readManifest, readManifestAsync } from "../../src/store/index.ts";
import { type Tensor, torch } from "../../src/torch/index.ts";
import { assertNoOrphans } from "../actors/fixtures/helpers.ts";
import { conformance } from "./fixtures/conformance.ts";
import { StorePeer } from "./fixtures/store-peer.ts";
import { allDtypes, allEqual, describe as describeDict, expectedDescription, versionDictLike } from "./fixtures/values.ts";

const storesOfThisProcess = () => readdirSync("/dev/shm").filter((f) => f.startsWith(`torchforge-store-test-${process.pid}-`));
let n = 0;
const fresh = (options: { checksums?: boolean } = {}) => SharedMemoryStore.create({ name: `test-${process.pid}-${n++}`, ...options });

conformance("shared memory", async () => {
  const store = fresh();
  const reader = SharedMemoryStore.open({ root: store.root });
  return { store, reader, cleanup: () => store.close() };
});

describe("shared-memory store", () => {
  const pids: number[] = [];
  after(async () => {
    await assertNoOrphans(pids);
    assert.deepEqual(storesOfThisProcess(), [], "every store directory was removed");
  });

  it("getSync/putSync and readManifest (a handle from a control message) round-trip every dtype", async () => {
    const store = fresh({ checksums: true });
    try {
      const m = store.putSync("sync", allDtypes(4));
      assert.equal(m.kind, "stateDict");
      assert.ok(m.tensors.every((h) => h.offset % 64 === 0 && typeof h.crc32 === "number"));
      assert.deepEqual(describeDict(store.getSync("sync") as Map<string, Tensor>), expectedDescription(4));
      const handle = structuredClone(store.manifest("sync"));
      assert.deepEqual(describeDict(readManifest(handle) as Map<string, Tensor>), expectedDescription(4));
    } finally {
      await store.close();
    }
  });

  it("an overwrite or delete leaves no stale data file; close removes the directory", async () => {
    const store = fresh();
    const data = () => readdirSync(join(store.root, "data"));
    await store.put("k", torch.ones([1000]));
    const first = data();
    await store.put("k", torch.zeros([1000]));
    assert.equal(data().length, 1);
    assert.notDeepEqual(data(), first);
    await store.delete("k");
    assert.deepEqual(data(), []);
    assert.deepEqual(readdirSync(join(store.root, "manifests")), []);
    await store.close();
    assert.equal(existsSync(store.root), false);
    await assert.rejects(store.get("k"), (e: Error) => e instanceof StoreError && /is closed/.test(e.message));
  });

  it("reuses retired data files in place (same inode), keeps at most `recycle` of them, and frees them with recycle: 0", async () => {
    const store = fresh();
    try {
      const inode = (key: string) => statSync(store.manifest(key).files[0]!).ino;
      const pool = () => readdirSync(join(store.root, "pool"));
      await store.put("k", torch.full([4096], 1));
      const first = inode("k");
      await store.put("k", torch.full([4096], 2)); // the first file goes to the pool
      assert.equal(pool().length, 1);
      await store.put("k", torch.full([4096], 3)); // ...and is written over here
      assert.equal(inode("k"), first);
      assert.deepEqual([...((await store.get("k")) as Tensor).toFlatArray()].slice(0, 2), [3, 3]);
      await store.put("other", torch.full([100], 4)); // a different size: reused and truncated
      await store.put("k", torch.full([10], 5));
      await store.delete("other");
      await store.delete("k");
      assert.ok(pool().length <= 4, `pool holds ${pool().length} files (recycle 1 value of up to 4 files)`);
      assert.deepEqual(readdirSync(join(store.root, "data")), []);
    } finally {
      await store.close();
    }
    const noPool = SharedMemoryStore.create({ name: `test-${process.pid}-${n++}`, recycle: 0 });
    try {
      await noPool.put("k", torch.ones([10]));
      await noPool.put("k", torch.ones([10]));
      assert.equal(existsSync(join(noPool.root, "pool")), false);
      assert.equal(readdirSync(join(noPool.root, "data")).length, 1);
    } finally {
      await noPool.close();
    }
    assert.throws(() => SharedMemoryStore.create({ name: "x", recycle: -1 }), (e: Error) => e instanceof StoreArgumentError && /options\.recycle/.test(e.message));
  });

  it("a manifest whose data file was reused for another value reads as stale, never as the other value's bytes", async () => {
    const store = fresh();
    try {
      await store.put("a", torch.full([1024], 1));
      const old = structuredClone(store.manifest("a"));
      const oldInode = statSync(old.files[0]!).ino;
      await store.put("a", torch.full([1024], 2)); // a's first file retires to the pool
      await store.put("b", torch.full([1024], 9)); // b overwrites it
      assert.equal(statSync(store.manifest("b").files[0]!).ino, oldInode, "b was written into a's first file");
      assert.throws(() => readManifest(old), (e: Error) => e instanceof StaleManifestError && /'a'.*replaced or removed/.test(e.message));
      await assert.rejects(readManifestAsync(old), StaleManifestError);
      const into = torch.zeros([1024]);
      assert.throws(() => readManifest(old, { into }), StaleManifestError);
      // The key itself still reads its current value.
      assert.equal(((await store.get("a")) as Tensor).toFlatArray()[0], 2);
      const current = store.manifest("a");
      await store.delete("a");
      assert.throws(() => readManifest(current), StaleManifestError);
    } finally {
      await store.close();
    }
  });

  it("a large value is split over several files (tensors straddling them) and reads back exactly, sync and async", async () => {
    const store = fresh({ checksums: true });
    try {
      // 3 tensors of 3.5M float32 (14 MB each, 42 MB): parts of ~10.5 MB, so every tensor crosses a boundary.
      const value = new Map([0, 1, 2].map((i) => [`w${i}`, torch.arange(0, 3_500_000, { dtype: "float32" }).add(i * 1e7)] as [string, Tensor]));
      const m = store.putSync("big", value);
      assert.equal(m.files.length, 4);
      assert.equal(m.files.reduce((sum, f) => sum + statSync(f).size, 0), m.totalBytes + 4 * 64, "the parts hold the value and a 64-byte header each");
      const check = (got: Map<string, Tensor>) => {
        for (const [name, t] of value) assert.equal(got.get(name)!.eq(t).all().item(), 1, `${name} equal`);
      };
      check((await store.get("big")) as Map<string, Tensor>);
      check(store.getSync("big") as Map<string, Tensor>);
      await store.put("big", value); // async writer, into the files the sync put left in the pool
      check((await store.get("big")) as Map<string, Tensor>);
      const old = store.manifest("big");
      await store.put("big", value);
      await store.put("other", value); // reuses old's four files
      await assert.rejects(readManifestAsync(old), StaleManifestError);
    } finally {
      await store.close();
    }
  });

  it("detects corrupted bytes when checksums are on", async () => {
    const store = fresh({ checksums: true });
    try {
      await store.put("c", new Map([["w", torch.ones([64])]]));
      const path = store.manifest("c").files[0]!;
      const bytes = readFileSync(path);
      bytes[bytes.length - 1]! ^= 0xff; // the tensor's last byte
      writeFileSync(path, bytes);
      await assert.rejects(store.get("c"), (e: Error) => e instanceof ChecksumError && /checksum mismatch for 'c' at tensor 'w'/.test(e.message));
      assert.throws(() => store.getSync("c"), ChecksumError);
    } finally {
      await store.close();
    }
  });

  it("open() of a missing store, bad names and over-long keys fail clearly", () => {
    assert.throws(() => SharedMemoryStore.open({ root: "/dev/shm/torchforge-store-does-not-exist" }), (e: Error) => e instanceof StoreArgumentError && /options.root' must be an existing store directory/.test(e.message));
    assert.throws(() => SharedMemoryStore.create({ name: "../escape" }), /options.name' must match/);
    assert.throws(() => SharedMemoryStore.open({}), /needs `root` or `name`/);
    const store = fresh();
    try {
      assert.throws(() => store.putSync("a/".repeat(70), torch.ones([1])), /at most 200 characters once percent-encoded/);
    } finally {
      void store.close();
    }
  });

  it("versions: publish keeps the last K, latest reads the newest, pruned versions are unknown", async () => {
    const store = fresh();
    try {
      const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
      for (let v = 1; v <= 4; v++) await versions.publish(v, new Map([["w", torch.full([8], v)]]));
      assert.deepEqual(await versions.versions(), [3, 4]);
      assert.deepEqual(await store.keys("policy/"), ["policy/v3", "policy/v4"]);
      assert.equal(readdirSync(join(store.root, "data")).length, 2, "dropped versions' bytes are freed");
      const latest = await versions.get();
      assert.equal(latest.version, 4);
      assert.deepEqual(latest.value.get("w")!.toFlatArray(), Array(8).fill(4));
      await assert.rejects(versions.get(1), UnknownKeyError);
      assert.throws(() => new VersionedStore(store, { keepLast: 0 }), /options.keepLast' must be an integer >= 1/);
    } finally {
      await store.close();
    }
  });

  it("across processes: a child reads what the parent wrote, and the parent reads what the child wrote", async () => {
    const store = fresh();
    const peer = await StorePeer.options({ procs: 1 }).asActor();
    pids.push(...(peer.pids as number[]));
    try {
      await store.put("from/parent", allDtypes(21));
      const plain = await peer.shmRead.callOne(store.root, "from/parent");
      assert.deepEqual(plain.desc, expectedDescription(21));
      const into = await peer.shmRead.callOne(store.root, "from/parent", true);
      assert.deepEqual(into.desc, expectedDescription(21));
      assert.equal(into.sameObjects, true, "child's get with into returned its own tensors");

      await peer.shmWrite.callOne(store.root, "from/child", 33);
      assert.deepEqual(describeDict((await store.get("from/child")) as Map<string, Tensor>), expectedDescription(33));
      const mine = allDtypes(0);
      await store.get("from/child", { into: mine });
      assert.deepEqual(describeDict(mine), expectedDescription(33));
    } finally {
      await peer.shutdown();
      await store.close();
    }
  });

  it("a reader never observes a partial version while a child publishes rapidly", async () => {
    const store = fresh();
    const peer = await StorePeer.options({ procs: 1 }).asActor();
    pids.push(...(peer.pids as number[]));
    try {
      const numel = 64 * 1024; // 4 tensors × 256 KiB: big enough that a torn read would show
      const versions = new VersionedStore(store, { keepLast: 2 });
      const writer = peer.shmPublishVersions.callOne(store.root, { first: 1, last: 150, numel, keepLast: 2 });
      let done = false;
      void writer.finally(() => (done = true));
      const into = versionDictLike(numel);
      let reads = 0;
      const seen = new Set<number>();
      while (!done) {
        const latest = await versions.latestVersion();
        if (latest === undefined) continue;
        // Rotate through fresh tensors, `into`, and synchronous reads into `into`.
        const fresh = reads % 3 === 0;
        let got;
        if (reads % 3 === 2) {
          try {
            got = { version: latest, value: store.getSync(versions.keyOf(latest), { into }) as Map<string, Tensor> };
          } catch (err) {
            if (err instanceof UnknownKeyError) continue; // pruned since we listed it
            throw err;
          }
        } else got = await versions.get("latest", fresh ? {} : { into });
        assert.ok(allEqual(got.value, got.version), `version ${got.version} read whole (read #${reads})`);
        if (fresh) for (const t of got.value.values()) t.dispose();
        seen.add(got.version);
        reads++;
      }
      assert.equal(await writer, 150);
      assert.ok(reads >= 20, `reader made ${reads} reads`);
      assert.ok(seen.size >= 5, `reader saw ${seen.size} distinct versions`);
      assert.deepEqual(await versions.versions(), [149, 150]);
    } finally {
      await peer.shutdown();
      await store.close();
    }
  });
});
