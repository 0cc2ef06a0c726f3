/**
 * Writes GGUF files (llama.cpp's model format, version 3): typed key/value metadata, tensor
 * descriptors, then each tensor's data aligned to `general.alignment` bytes, in F32, F16, BF16 or
 * Q8_0 (blocks of 32 values: an fp16 scale and 32 int8s). The file is streamed one tensor at a time
 * into a temp file and renamed over the target, so neither the whole file nor every converted
 * tensor is ever in memory, and a reader never sees half a file.
 *
 * Written by hand, like the reader (gguf.ts): no JS library writes GGUF (`@huggingface/gguf` and
 * node-llama-cpp only read it), and the layout is the one the reader already parses. Which key or
 * tensor name means what is the models layer's business (src/models/gguf-export.ts).
 * @example
 * writeGguf("out.gguf", {
 *   metadata: [["general.architecture", { type: "string", value: "llama" }]],
 *   tensors: [{ name: "output_norm.weight", type: "F32", shape: [64], data: () => norm }],
 * });
 */
import { writeFileAtomicWith, writeAll } from "../util/atomic-write.ts";
import { GGML_TYPES, GgufError } from "./gguf.ts";
import { tensor } from "./creation.ts";
import { tidy } from "./scope.ts";
import type { Tensor } from "./tensor.ts";

/** GGUF metadata value types (gguf_type in gguf.h) by name. */
const VALUE_TYPES = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, u64: 10, i64: 11, f64: 12 } as const;
export type GgufScalarType = keyof typeof VALUE_TYPES;
type Scalar = number | bigint | boolean | string;

/** A metadata value with its GGUF type (JS numbers do not say whether they are u32 or f32). */
export type GgufTypedValue = { type: GgufScalarType; value: Scalar } | { type: "array"; elementType: GgufScalarType; value: readonly Scalar[] };

/** ggml types this writer encodes. */
export type GgufWriteType = "F32" | "F16" | "BF16" | "Q8_0";
export const GGUF_WRITE_TYPES: readonly GgufWriteType[] = ["F32", "F16", "BF16", "Q8_0"];

export interface GgufTensorToWrite {
  name: string;
  /** PyTorch order (outermost first); written innermost first, as ggml wants. */
  shape: number[];
  type: GgufWriteType;
  /**
   * Produces the values (any float dtype, CPU) when the tensor's turn comes; the writer disposes
   * what it returns, so return a fresh tensor (e.g. `w.float()`), not a model parameter.
   */
  data: () => Tensor;
}

export interface WriteGgufOptions {
  /** Keys in the order written; `general.alignment` is added when `alignment` is not 32. */
  metadata: ReadonlyArray<readonly [string, GgufTypedValue]>;
  tensors: readonly GgufTensorToWrite[];
  /** Data alignment in bytes. @default 32 */
  alignment?: number;
}

/** Byte size of `numel` values stored as `type`. */
export function encodedBytes(type: GgufWriteType, numel: number): number {
  switch (type) {
    case "F32": return numel * 4;
    case "F16":
    case "BF16": return numel * 2;
    case "Q8_0": return (numel / 32) * 34;
  }
}

/** Little-endian byte sink for the header. */
class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  num(type: GgufScalarType, v: Scalar, key: string): void {
    const fail = (): never => {
      throw new TypeError(`GGUF metadata '${key}': ${JSON.stringify(typeof v === "bigint" ? String(v) : v)} is not a valid ${type}`);
    };
    const intIn = (lo: number, hi: number): number => (typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? v : fail());
    let b: Buffer;
    switch (type) {
      case "u8": b = Buffer.alloc(1); b.writeUInt8(intIn(0, 0xff)); break;
      case "i8": b = Buffer.alloc(1); b.writeInt8(intIn(-0x80, 0x7f)); break;
      case "u16": b = Buffer.alloc(2); b.writeUInt16LE(intIn(0, 0xffff)); break;
      case "i16": b = Buffer.alloc(2); b.writeInt16LE(intIn(-0x8000, 0x7fff)); break;
      case "u32": b = Buffer.alloc(4); b.writeUInt32LE(intIn(0, 0xffffffff)); break;
      case "i32": b = Buffer.alloc(4); b.writeInt32LE(intIn(-0x80000000, 0x7fffffff)); break;
      case "f32": b = Buffer.alloc(4); b.writeFloatLE(typeof v === "number" ? v : fail()); break;
      case "f64": b = Buffer.alloc(8); b.writeDoubleLE(typeof v === "number" ? v : fail()); break;
      case "bool": b = Buffer.from([typeof v === "boolean" ? Number(v) : fail()]); break;
      case "u64": b = Buffer.alloc(8); b.writeBigUInt64LE(typeof v === "bigint" ? v : BigInt(intIn(0, Number.MAX_SAFE_INTEGER))); break;
      case "i64": b = Buffer.alloc(8); b.writeBigInt64LE(typeof v === "bigint" ? v : BigInt(intIn(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))); break;
      case "string": {
        if (typeof v !== "string") fail();
        const s = Buffer.from(v as string, "utf8");
        this.u64(s.length);
        b = s;
        break;
      }
      default:
        throw new TypeError(`GGUF metadata '${key}': unknown value type '${String(type)}'`);
    }
    this.push(b);
  }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string): void { this.num("string", s, "(name)"); }
  zeros(n: number): void { if (n > 0) this.push(Buffer.alloc(n)); }
  concat(): Buffer { return Buffer.concat(this.chunks, this.length); }
}

function typeCode(type: GgufScalarType, key: string): number {
  const code = VALUE_TYPES[type];
  if (code === undefined) throw new TypeError(`GGUF metadata '${key}': unknown value type '${String(type)}'; expected one of ${Object.keys(VALUE_TYPES).join(", ")}, array`);
  return code;
}

/** The header: magic, version 3, counts, metadata, tensor infos, padding up to the data. */
function encodeHeader(opts: WriteGgufOptions, alignment: number, offsets: number[]): Buffer {
  const metadata = [...opts.metadata];
  if (alignment !== 32 && !metadata.some(([k]) => k === "general.alignment")) metadata.push(["general.alignment", { type: "u32", value: alignment }]);
  const h = new Bytes();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(opts.tensors.length);
  h.u64(metadata.length);
  const seen = new Set<string>();
  for (const [key, v] of metadata) {
    if (seen.has(key)) throw new TypeError(`GGUF metadata key '${key}' is given twice`);
    seen.add(key);
    h.str(key);
    if (v.type === "array") {
      h.u32(9);
      h.u32(typeCode(v.elementType, key));
      h.u64(v.value.length);
      for (const x of v.value) h.num(v.elementType, x, key);
    } else {
      h.u32(typeCode(v.type, key));
      h.num(v.type, v.value, key);
    }
  }
  opts.tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GGML_TYPES[t.type]);
    h.u64(offsets[i]!);
  });
  h.zeros(pad(h.length, alignment));
  return h.concat();
}

const pad = (n: number, alignment: number): number => (alignment - (n % alignment)) % alignment;

/**
 * Q8_0 as ggml's reference quantiser (quantize_row_q8_0_ref) computes it: per block of 32,
 * d = max|x| / 127 (float32), q = roundf(x / d) (half away from zero), d stored as fp16.
 */
export function quantizeQ8_0(values: Tensor): Uint8Array {
  const numel = values.numel;
  if (numel % 32 !== 0) throw new RangeError(`quantizeQ8_0: ${numel} values are not a whole number of 32-value blocks`);
  const nb = numel / 32;
  const x = tidy(() => values.float().contiguous().dataSync()) as Float32Array;
  const out = new Uint8Array(nb * 34);
  const q = new Int8Array(out.buffer);
  const scales = new Float32Array(nb);
  // One pass in JS: faster here than a dozen elementwise torch ops, and exact about roundf's halves.
  for (let b = 0; b < nb; b++) {
    const base = b * 32;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[base + j]!));
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    scales[b] = d;
    const o = b * 34 + 2;
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(x[base + j]! * id);
      q[o + j] = (v < 0 ? v - 0.5 : v + 0.5) | 0; // truncating |v| + 0.5 = roundf (|v| <= 127)
    }
  }
  // fp32 → fp16 (round to nearest even, as ggml's GGML_FP32_TO_FP16) by libtorch.
  const half = tidy(() => tensor(scales).to("float16").contiguous().bytes().slice());
  for (let b = 0; b < nb; b++) {
    out[b * 34] = half[2 * b]!;
    out[b * 34 + 1] = half[2 * b + 1]!;
  }
  return out;
}

/** The bytes of `t` stored as `type` (row-major, as ggml lays out a PyTorch-ordered tensor). */
export function encodeTensor(t: Tensor, type: GgufWriteType): Uint8Array {
  if (type === "Q8_0") return quantizeQ8_0(t);
  const dtype = type === "F32" ? "float32" : type === "F16" ? "float16" : "bfloat16";
  // slice(): bytes() is a view of storage that the tidy scope frees.
  return tidy(() => t.to(dtype).contiguous().bytes().slice());
}

/** Writes a GGUF v3 file atomically (temp file + rename). Returns the file's size in bytes. */
export function writeGguf(path: string, opts: WriteGgufOptions): number {
  const alignment = opts.alignment ?? 32;
  if (!Number.isInteger(alignment) || alignment < 1 || alignment % 8 !== 0) throw new RangeError(`writeGguf: alignment must be a positive multiple of 8; got ${alignment}`);
  const names = new Set<string>();
  const offsets: number[] = [];
  let dataBytes = 0;
  for (const t of opts.tensors) {
    if (names.has(t.name)) throw new TypeError(`writeGguf: tensor '${t.name}' is given twice`);
    names.add(t.name);
    if (!GGUF_WRITE_TYPES.includes(t.type)) throw new TypeError(`writeGguf: tensor '${t.name}' has type '${t.type}'; expected one of ${GGUF_WRITE_TYPES.join(", ")}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.type === "Q8_0" && (t.shape.at(-1) ?? 0) % 32 !== 0) throw new RangeError(`writeGguf: tensor '${t.name}' [${t.shape}] rows are not a multiple of 32, as Q8_0 needs`);
    offsets.push(dataBytes);
    dataBytes += encodedBytes(t.type, numel);
    dataBytes += pad(dataBytes, alignment);
  }
  const header = encodeHeader(opts, alignment, offsets);
  try {
    writeFileAtomicWith(path, (fd) => {
      writeAll(fd, header);
      let written = 0;
      opts.tensors.forEach((t, i) => {
        writeAll(fd, new Uint8Array(offsets[i]! - written));
        written = offsets[i]!;
        const values = t.data();
        let bytes: Uint8Array;
        try {
          if (values.shape.join(",") !== t.shape.join(",")) throw new RangeError(`writeGguf: tensor '${t.name}' data has shape [${values.shape}], declared [${t.shape}]`);
          bytes = encodeTensor(values, t.type);
        } finally {
          values.dispose();
        }
        writeAll(fd, bytes);
        written += bytes.length;
      });
      writeAll(fd, new Uint8Array(dataBytes - written));
    });
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) throw err;
    throw new GgufError(path, `cannot write: ${(err as Error).message}`, { cause: err });
  }
  return header.length + dataBytes;
}
