// The GGUF writer: tensor encodings byte-equal to gguf-py's (scripts/golden/gguf-q8_0.py), files
// that our reader and node-llama-cpp's maintained GGUF parser both read back, and clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, type Tensor } from "../../src/torch/index.ts";
import { GgufError, GgufFile } from "../../src/torch/gguf.ts";
import { encodeTensor, quantizeQ8_0, writeGguf, type GgufTypedValue } from "../../src/torch/gguf-write.ts";

torch.setNumThreads(1);
const golden = JSON.parse(readFileSync("tests/fixtures/gguf/quant-golden.json", "utf8")) as Record<string, string> & { values: number[] };
const values = Float32Array.from(golden.values);
const tmp = mkdtempSync(join(tmpdir(), "gguf-write-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

for (const type of ["Q8_0", "F16", "BF16"] as const) {
  test(`${type} bytes equal gguf-py's (ties, zeros, tiny and huge values)`, () => {
    const x = torch.tensor(values, { shape: [5, 32] });
    try {
      assert.equal(Buffer.from(encodeTensor(x, type)).toString("hex"), golden[type]);
    } finally {
      x.dispose();
    }
  });
}

test("Q8_0 needs whole blocks of 32", () => {
  const x = torch.zeros([3, 10]);
  assert.throws(() => quantizeQ8_0(x), /30 values are not a whole number of 32-value blocks/);
  x.dispose();
});

const metadata: Array<[string, GgufTypedValue]> = [
  ["general.architecture", { type: "string", value: "llama" }],
  ["general.name", { type: "string", value: "tést ✓" }],
  ["test.u32", { type: "u32", value: 4000000000 }],
  ["test.i32", { type: "i32", value: -7 }],
  ["test.f32", { type: "f32", value: Math.fround(1e-5) }],
  ["test.bool", { type: "bool", value: true }],
  ["test.u64", { type: "u64", value: 2n ** 60n }],
  ["test.strings", { type: "array", elementType: "string", value: ["a", "b c", ""] }],
  ["test.ints", { type: "array", elementType: "i32", value: [1, -2, 3] }],
];

test("a written file reads back in our reader and in node-llama-cpp's GGUF parser", async () => {
  const path = join(tmp, "t.gguf");
  const a = torch.randn([4, 64]);
  const b = torch.randn([7]);
  const tensors = [
    { name: "a.q8", shape: [4, 64], type: "Q8_0" as const, data: () => a.float() },
    { name: "b.f32", shape: [7], type: "F32" as const, data: () => b.float() },
    { name: "a.f16", shape: [4, 64], type: "F16" as const, data: () => a.float() },
    { name: "a.bf16", shape: [4, 64], type: "BF16" as const, data: () => a.float() },
  ];
  const bytes = writeGguf(path, { metadata, tensors, alignment: 64 });
  assert.equal(readFileSync(path).length, bytes);
  const file = GgufFile.open(path);
  try {
    assert.equal(file.version, 3);
    assert.equal(file.get("general.alignment"), 64);
    for (const [k, v] of metadata) assert.deepEqual(file.get(k), v.value, k);
    for (const info of file.tensors.values()) assert.equal(info.fileOffset % 64, 0, info.name);
    assert.deepEqual(file.loadTensor("b.f32").toFlatArray(), b.toFlatArray());
    const close = (name: string, ref: Tensor): number => torch.tidy(() => file.loadTensor(name).sub(ref).abs().max().item() as number);
    assert.equal(close("a.f16", a.to("float16").float()), 0);
    assert.equal(close("a.bf16", a.to("bfloat16").float()), 0);
    // Half a step of d = amax/127, plus d's own fp16 rounding times the largest |q| (127 * 2^-11 d).
    assert.ok(close("a.q8", a) <= ((a.abs().max().item() as number) / 127) * (0.5 + 127 / 2048));
  } finally {
    file.close();
  }
  const { readGgufFileInfo } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(path, { readTensorInfo: true });
  assert.equal(info.version, 3);
  assert.equal(info.metadata.general.name, "tést ✓");
  assert.deepEqual((info.metadata as unknown as { test: { strings: string[] } }).test.strings, ["a", "b c", ""]);
  assert.deepEqual(
    info.fullTensorInfo?.map((t) => [t.name, t.dimensions.map(Number)]),
    [["a.q8", [64, 4]], ["b.f32", [7]], ["a.f16", [64, 4]], ["a.bf16", [64, 4]]],
  );
  a.dispose();
  b.dispose();
});

test("bad input: clear errors, and no file or temp file is left behind", () => {
  const dir = mkdtempSync(join(tmp, "bad-"));
  const path = join(dir, "x.gguf");
  const one = (type: string, shape = [2, 32]) => ({ metadata, tensors: [{ name: "w", shape, type: type as "F32", data: () => torch.zeros(shape) }] });
  assert.throws(() => writeGguf(path, one("Q4_K")), /tensor 'w' has type 'Q4_K'; expected one of F32, F16, BF16, Q8_0/);
  assert.throws(() => writeGguf(path, one("Q8_0", [2, 10])), /rows are not a multiple of 32/);
  assert.throws(() => writeGguf(path, { metadata: [...metadata, ["test.u32", { type: "u32", value: 1 }]], tensors: [] }), /'test.u32' is given twice/);
  assert.throws(() => writeGguf(path, { metadata: [["k", { type: "u32", value: -1 }]], tensors: [] }), /metadata 'k': -1 is not a valid u32/);
  assert.throws(
    () => writeGguf(path, { metadata, tensors: [{ name: "w", shape: [2, 32], type: "F32", data: () => torch.zeros([3]) }] }),
    /data has shape \[3\], declared \[2,32\]/,
  );
  assert.deepEqual(readdirSync(dir), []);
  writeFileSync(join(dir, "file"), "");
  assert.throws(() => writeGguf(join(dir, "file", "x.gguf"), { metadata, tensors: [] }), (err: unknown) => err instanceof GgufError && /x\.gguf: cannot write/.test(err.message));
});
