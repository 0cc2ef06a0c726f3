// VersionedStore over a scripted in-memory backend (no tensors, no files): option and version
// checks, pruning to keepLast in numeric order, a prefix with regex characters, and "latest"
// reads racing a pruner (retried on UnknownKeyError up to 10 times, other errors at once).
import { test } from "node:test";
import assert from "node:assert/strict";
import { StoreArgumentError, UnknownKeyError, VersionedStore, type StateDict, type WeightStore } from "../../src/store/index.ts";

/** A Map-backed WeightStore; `failGet`/`failDelete` script errors for the next calls. */
class FakeStore implements WeightStore {
  readonly data = new Map<string, unknown>();
  readonly calls: string[] = [];
  failGet: (key: string) => Error | undefined = () => undefined;
  failDelete: (key: string) => Error | undefined = () => undefined;
  async put(key: string, value: unknown): Promise<void> {
    this.calls.push(`put ${key}`);
    this.data.set(key, value);
  }
  async get<V>(key: string, options?: unknown): Promise<V> {
    this.calls.push(`get ${key}${options && Object.keys(options).length ? " +options" : ""}`);
    const err = this.failGet(key);
    if (err) throw err;
    if (!this.data.has(key)) throw new UnknownKeyError(key);
    return this.data.get(key) as V;
  }
  async keys(prefix = ""): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async delete(key: string): Promise<void> {
    this.calls.push(`delete ${key}`);
    const err = this.failDelete(key);
    if (err) throw err;
    if (!this.data.delete(key)) throw new UnknownKeyError(key);
  }
  async close(): Promise<void> {}
}

const sd = (tag: string) => new Map([["tag", tag]]) as unknown as StateDict;
const badArg = (argument: string) => (e: unknown) => e instanceof StoreArgumentError && e.argument === argument;

test("options: prefix non-empty without a trailing '/', keepLast an integer >= 1; defaults policy and 2", () => {
  const store = new FakeStore();
  const v = new VersionedStore(store);
  assert.deepEqual([v.prefix, v.keepLast, v.store], ["policy", 2, store]);
  assert.equal(new VersionedStore(store, { keepLast: 1 }).keepLast, 1);
  assert.throws(() => new VersionedStore(store, { prefix: "" }), badArg("options.prefix"));
  assert.throws(() => new VersionedStore(store, { prefix: "runs/" }), badArg("options.prefix"));
  for (const keepLast of [0, -1, 1.5, Number.NaN]) assert.throws(() => new VersionedStore(store, { keepLast }), badArg("options.keepLast"), `keepLast ${keepLast}`);
});

test("keyOf: <prefix>/v<n> for non-negative integers only", () => {
  const v = new VersionedStore(new FakeStore(), { prefix: "runs/a" });
  assert.equal(v.keyOf(0), "runs/a/v0");
  assert.equal(v.keyOf(12), "runs/a/v12");
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => v.keyOf(bad), badArg("version"), `version ${bad}`);
});

test("publish puts, then prunes to the newest keepLast in numeric order (v10 is newer than v9)", async () => {
  const store = new FakeStore();
  const v = new VersionedStore(store, { keepLast: 2 });
  assert.equal(await v.latestVersion(), undefined);
  for (const n of [8, 9, 10, 11]) await v.publish(n, sd(`w${n}`));
  assert.deepEqual(await v.versions(), [10, 11]);
  assert.deepEqual(await store.keys(), ["policy/v10", "policy/v11"]);
  assert.equal(await v.latestVersion(), 11);
  assert.deepEqual(store.calls.slice(0, 4), ["put policy/v8", "put policy/v9", "put policy/v10", "delete policy/v8"]);
  const one = new VersionedStore(store, { keepLast: 1 });
  await one.publish(12, sd("w12"));
  assert.deepEqual(await one.versions(), [12]);
  await assert.rejects(v.publish(13, { tag: "not a map" } as unknown as StateDict), badArg("stateDict"));
  await assert.rejects(v.publish(-1, sd("x")), badArg("version"));
  assert.deepEqual(await v.versions(), [12], "a refused publish writes nothing");
});

test("versions: only <prefix>/v<digits> keys count, whatever characters the prefix has", async () => {
  const store = new FakeStore();
  for (const k of ["run.1+x/v3", "run.1+x/v20", "run.1+x/v3x", "run.1+x/vx", "run.1+x/v4/extra", "run.1+x/v", "run.1+x/w5"]) store.data.set(k, sd(k));
  store.data.set("runA1xx/v7", sd("other"));
  const v = new VersionedStore(store, { prefix: "run.1+x" });
  assert.deepEqual(await v.versions(), [3, 20]);
  assert.equal(await v.latestVersion(), 20);
});

test("publish ignores a version another pruner deleted first; other delete errors propagate", async () => {
  const store = new FakeStore();
  const v = new VersionedStore(store, { keepLast: 1 });
  await v.publish(1, sd("a"));
  store.failDelete = (key) => (key === "policy/v1" ? new UnknownKeyError(key) : undefined);
  await v.publish(2, sd("b"));
  store.failDelete = () => new Error("disk on fire");
  await assert.rejects(v.publish(3, sd("c")), /disk on fire/);
});

test("get: a given version or the latest; 'latest' retries a version pruned after listing, up to 10 times", async () => {
  const store = new FakeStore();
  const v = new VersionedStore(store, { keepLast: 3 });
  await assert.rejects(v.get(), (e: unknown) => e instanceof UnknownKeyError && e.key === "policy/v*");
  for (const n of [1, 2, 3]) await v.publish(n, sd(`w${n}`));
  assert.deepEqual(await v.get(2), { version: 2, value: sd("w2") });
  assert.deepEqual(await v.get(), { version: 3, value: sd("w3") });
  assert.deepEqual(await v.get("latest"), { version: 3, value: sd("w3") });
  await assert.rejects(v.get(7), (e: unknown) => e instanceof UnknownKeyError);
  // Options reach the backend.
  store.calls.length = 0;
  await v.get("latest", { into: new Map() } as never);
  assert.deepEqual(store.calls, ["get policy/v3 +options"]);
  // v3 vanishes between listing and reading: the next attempt reads the new latest.
  let racing = true;
  store.failGet = (key) => {
    if (!racing || key !== "policy/v3") return undefined;
    racing = false;
    store.data.delete("policy/v3");
    return new UnknownKeyError(key);
  };
  assert.deepEqual(await v.get(), { version: 2, value: sd("w2") });
  // Any other error is not retried.
  store.calls.length = 0;
  store.failGet = () => new Error("bad checksum");
  await assert.rejects(v.get(), /bad checksum/);
  assert.equal(store.calls.length, 1);
  // A version that keeps vanishing: 11 attempts, then the UnknownKeyError.
  store.calls.length = 0;
  store.failGet = (key) => new UnknownKeyError(key);
  await assert.rejects(v.get(), (e: unknown) => e instanceof UnknownKeyError);
  assert.equal(store.calls.length, 11);
});
