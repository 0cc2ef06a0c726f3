import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, safetensors, SafetensorsError, DTYPES, type Tensor } from "../../src/torch/index.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "tf-st-"));

test("round trip of every dtype, including bf16, f16, empty and 0-d tensors", () => {
  const dir = tmp();
  const tensors = new Map<string, Tensor>();
  for (const dtype of DTYPES) tensors.set(`t.${dtype}`, torch.tensor([[0, 1, 0], [1, 0, 1]], { dtype }));
  tensors.set("bf16.values", torch.tensor([1.5, -2.25, 3.140625], { dtype: "bfloat16" }));
  tensors.set("empty", torch.zeros([0, 4]));
  tensors.set("scalar", torch.tensor(42.5));
  tensors.set("strided", torch.arange(12, undefined, { dtype: "float32" }).view(3, 4).t());
  const path = join(dir, "all.safetensors");
  safetensors.saveSafetensors(path, tensors, { metadata: { format: "pt", note: "hello" } });
  const header = safetensors.readSafetensorsHeader(path);
  assert.deepEqual(header.metadata, { format: "pt", note: "hello" });
  assert.equal(header.dataStart % 8, 0, "data section is 8-byte aligned");
  const back = safetensors.loadSafetensors(path);
  assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
  for (const [k, t] of tensors) {
    const b = back.get(k)!;
    assert.equal(b.dtype, t.dtype, k);
    assert.deepEqual(b.shape, t.shape, k);
    assert.deepEqual(b.toArray(), t.toArray(), k);
  }
  assert.deepEqual(readdirSync(dir), ["all.safetensors"], "no temp files left behind");
});

test("reads a file written by hand per the format spec", () => {
  // Header: {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}
  const header = JSON.stringify({
    __metadata__: { k: "v" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "I64", shape: [1], data_offsets: [8, 16] },
    c: { dtype: "BF16", shape: [2], data_offsets: [16, 20] },
  });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(20);
  data.writeFloatLE(1.5, 0);
  data.writeFloatLE(-3, 4);
  data.writeBigInt64LE(-7n, 8);
  data.writeUInt16LE(0x3fc0, 16); // bf16 1.5
  data.writeUInt16LE(0xc040, 18); // bf16 -3
  const path = join(tmp(), "hand.safetensors");
  writeFileSync(path, Buffer.concat([len, Buffer.from(header), data]));
  const t = safetensors.loadSafetensors(path);
  assert.deepEqual(t.get("a")!.toArray(), [1.5, -3]);
  assert.deepEqual(t.get("b")!.toArray(), [-7]);
  assert.deepEqual(t.get("c")!.toArray(), [1.5, -3]);
  assert.equal(t.get("c")!.dtype, "bfloat16");
  // And our writer produces the same header layout a reader following the spec expects.
  const out = join(tmp(), "ours.safetensors");
  safetensors.saveSafetensors(out, { a: t.get("a")! });
  const bytes = readFileSync(out);
  const n = Number(bytes.readBigUInt64LE(0));
  const parsed = JSON.parse(bytes.subarray(8, 8 + n).toString());
  assert.deepEqual(parsed.a, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  assert.equal(bytes.readFloatLE(8 + n), 1.5);
});

test("load options: dtype cast (floats only) and filter", () => {
  const path = join(tmp(), "m.safetensors");
  safetensors.saveSafetensors(path, { w: torch.ones([2, 2]), ids: torch.tensor([1, 2]) });
  const t = safetensors.loadSafetensors(path, { dtype: "bfloat16" });
  assert.equal(t.get("w")!.dtype, "bfloat16");
  assert.equal(t.get("ids")!.dtype, "int64");
  assert.deepEqual([...safetensors.loadSafetensors(path, { filter: (k) => k === "ids" }).keys()], ["ids"]);
});

test("sharded checkpoints: index + shards, loaded from a directory or the index", () => {
  const dir = tmp();
  const sd = new Map<string, Tensor>();
  for (let i = 0; i < 5; i++) sd.set(`layers.${i}.weight`, torch.full([4, 4], i));
  const files = safetensors.saveShardedSafetensors(dir, sd, { maxShardBytes: 64 });
  assert.equal(files.at(-1), "model.safetensors.index.json");
  assert.equal(files.length, 6);
  const index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
  assert.equal(index.metadata.total_size, 5 * 64);
  assert.equal(index.weight_map["layers.3.weight"], "model-00004-of-00005.safetensors");
  for (const loaded of [safetensors.loadCheckpoint(dir), safetensors.loadCheckpoint(join(dir, "model.safetensors.index.json"))]) {
    assert.equal(loaded.size, 5);
    assert.equal(loaded.get("layers.4.weight")!.sum().item(), 64);
  }
  const single = tmp();
  assert.deepEqual(safetensors.saveShardedSafetensors(single, sd), ["model.safetensors"]);
  assert.equal(safetensors.loadCheckpoint(single).size, 5);
});

test("corrupt and missing files give errors naming the file and the problem", () => {
  const dir = tmp();
  const bad = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const withHeader = (h: unknown, dataLen = 0) => {
    const s = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(s.length));
    return Buffer.concat([len, s, Buffer.alloc(dataLen)]);
  };
  assert.throws(() => safetensors.loadSafetensors(join(dir, "nope.safetensors")), (e: Error) => e instanceof SafetensorsError && /nope.safetensors: file not found/.test(e.message));
  assert.throws(() => safetensors.loadSafetensors(bad("short", Buffer.alloc(3))), /too short/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1000n);
  assert.throws(() => safetensors.loadSafetensors(bad("huge", huge)), /header length 1000 is invalid/);
  const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{x:1")]);
  assert.throws(() => safetensors.loadSafetensors(bad("nj", notJson)), /header is not valid JSON/);
  assert.throws(() => safetensors.loadSafetensors(bad("dt", withHeader({ a: { dtype: "F8", shape: [1], data_offsets: [0, 1] } }, 1))), /tensor 'a' has unsupported dtype "F8"/);
  assert.throws(() => safetensors.loadSafetensors(bad("off", withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, 4))), /invalid data_offsets \[0,8\] \(data section is 4 bytes\)/);
  assert.throws(() => safetensors.loadSafetensors(bad("sz", withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8))), /covers 8 bytes but float32\[3\] needs 12/);
  assert.throws(() => safetensors.loadCheckpoint(dir), /neither model.safetensors.index.json nor model.safetensors/);
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "missing.safetensors" } }));
  assert.throws(() => safetensors.loadCheckpoint(dir), /missing.safetensors: file not found/);
  assert.throws(() => safetensors.saveSafetensors(join(dir, "x.safetensors"), { a: 3 as never }), /value for 'a' must be a Tensor/);
});
