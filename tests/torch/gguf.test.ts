// GGUF reading and native dequantisation against llama.cpp's Python package (gguf-py): the
// fixture tests/fixtures/gguf/dequant.gguf holds each format's blocks next to gguf-py's
// dequantisation (scripts/golden/gguf-fixtures.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, gguf } from "../../src/torch/index.ts";

torch.setNumThreads(1);
const DEQUANT = "tests/fixtures/gguf/dequant.gguf";
const TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"] as const;

test("header: version, metadata, tensor table in PyTorch shape order", () => {
  const file = gguf.GgufFile.open(DEQUANT);
  try {
    assert.equal(file.version, 3);
    assert.equal(file.get("general.architecture"), "llama");
    assert.equal(file.tensors.size, TYPES.length * 2);
    for (const t of TYPES) {
      const q = file.tensors.get(`q.${t}`)!;
      assert.deepEqual(q.shape, [2, 512], t);
      assert.equal(q.typeName, t);
      assert.equal(q.ggmlType, gguf.GGML_TYPES[t]);
      assert.equal(q.byteLength, gguf.ggmlTypeBytes(q.ggmlType, 1024));
    }
  } finally {
    file.close();
  }
});

for (const t of TYPES) {
  test(`dequantise ${t} equals gguf-py's reference`, () => {
    const file = gguf.GgufFile.open(DEQUANT);
    try {
      torch.tidy(() => {
        const got = file.loadTensor(`q.${t}`).toFlatArray();
        const ref = file.loadTensor(`ref.${t}`).toFlatArray();
        assert.equal(got.length, 1024);
        assert.ok(ref.some((x) => x !== 0), "reference is not all zeros");
        let worst = 0;
        // Same float32 arithmetic up to operation order: relative 1e-6 of the block's scale.
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) / (1e-3 + Math.abs(ref[i]!)));
        assert.ok(worst < 1e-5, `${t}: worst relative difference ${worst}`);
      });
    } finally {
      file.close();
    }
  });
}

test("loadTensor casts to the requested dtype", () => {
  const file = gguf.GgufFile.open(DEQUANT);
  try {
    torch.tidy(() => {
      const bf = file.loadTensor("q.Q8_0", { dtype: "bfloat16" });
      assert.equal(bf.dtype, "bfloat16");
      assert.deepEqual(bf.shape, [2, 512]);
    });
  } finally {
    file.close();
  }
});

test("dequantize rejects a byte count that does not match the type", () => {
  const bytes = new Uint8Array(20);
  assert.throws(() => gguf.dequantize(bytes, gguf.GGML_TYPES.Q4_1, [64]), /need 40/);
  assert.throws(() => gguf.dequantize(bytes, gguf.GGML_TYPES.Q4_1, [16]), /multiple of the block size 32/);
  assert.throws(() => gguf.dequantize(bytes, 6, [32]), /unsupported ggml type 6/);
});

test("clear errors for a non-GGUF file, a truncated file, and an unsupported tensor type", () => {
  const dir = mkdtempSync(join(tmpdir(), "gguf-test-"));
  try {
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, Buffer.alloc(64));
    assert.throws(() => gguf.GgufFile.open(bad), (e: Error) => e instanceof gguf.GgufError && /not a GGUF file/.test(e.message));
    const whole = readFileSync(DEQUANT);
    const cut = join(dir, "cut.gguf");
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    assert.throws(() => gguf.GgufFile.open(cut), /runs past the end of the file/);
    // Relabel q.F32 as Q5_0 (type 6) in the tensor table: a type this loader does not read.
    const patched = Buffer.from(whole);
    const name = Buffer.from("q.F32");
    const at = patched.indexOf(name) + name.length; // then n_dims u32, 2 dims u64, type u32
    assert.equal(patched.readUInt32LE(at + 4 + 16), 0);
    patched.writeUInt32LE(6, at + 4 + 16);
    const odd = join(dir, "odd.gguf");
    writeFileSync(odd, patched);
    const file = gguf.GgufFile.open(odd);
    try {
      assert.equal(file.tensors.get("q.F32")!.typeName, "Q5_0");
      assert.throws(() => file.loadTensor("q.F32"), /is Q5_0; supported types are F32, F16/);
      assert.throws(() => file.loadTensor("nope"), /no tensor named 'nope'/);
    } finally {
      file.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
