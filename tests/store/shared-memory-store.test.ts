import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ChecksumError, SharedMemoryStore, StoreArgumentError, StoreError, UnknownKeyError, VersionedStore, readManifest } from "../../src/store/index.ts";
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

  it("detects corrupted bytes when checksums are on", async () => {
    const store = fresh({ checksums: true });
    try {
      await store.put("c", new Map([["w", torch.ones([64])]]));
      const path = store.manifest("c").path;
      const bytes = readFileSync(path);
      bytes[10] ^= 0xff;
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
