/**
 * GGUF files (llama.cpp's model format): a little-endian header of typed key/value metadata and
 * tensor descriptors, then aligned tensor data in ggml's block formats. This module reads the
 * header and turns one tensor at a time into a float tensor (dequantised natively in
 * native/src/gguf-dequant.cc), so a model never needs its whole file in memory.
 *
 * The header parser is written by hand: the maintained JS parser (`@huggingface/gguf`) is not a
 * dependency of this project (installing packages is not allowed here), and the format's header
 * is ~100 lines of code. Mapping GGUF names to a model's is the models layer's job
 * (src/models/gguf-keys.ts), not this one's.
 * @example
 * const file = gguf.GgufFile.open("model.gguf");
 * const w = file.loadTensor("blk.0.attn_q.weight");  // float32, PyTorch shape [out, in]
 * file.close();
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { native } from "./native.ts";
import type { DType } from "./dtype.ts";
import { Tensor, type Device } from "./tensor.ts";

export class GgufError extends Error {
  override name = "GgufError";
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
  }
}

/** ggml tensor type ids (ggml.h) that this loader dequantises. */
export const GGML_TYPES = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 8, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;

/** Elements and bytes per block of each supported type. */
const BLOCKS: Record<number, { elems: number; bytes: number; name: GgmlTypeName }> = {
  0: { elems: 1, bytes: 4, name: "F32" },
  1: { elems: 1, bytes: 2, name: "F16" },
  30: { elems: 1, bytes: 2, name: "BF16" },
  2: { elems: 32, bytes: 18, name: "Q4_0" },
  3: { elems: 32, bytes: 20, name: "Q4_1" },
  8: { elems: 32, bytes: 34, name: "Q8_0" },
  12: { elems: 256, bytes: 144, name: "Q4_K" },
  13: { elems: 256, bytes: 176, name: "Q5_K" },
  14: { elems: 256, bytes: 210, name: "Q6_K" },
};
/** Names of ggml types this loader does not read, for error messages. */
const OTHER_TYPES: Record<number, string> = {
  6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
  19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
};

/** Metadata values: numbers (64-bit integers beyond 2^53 stay bigint), booleans, strings, arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (outermost first): ggml lists dimensions innermost first, so this is reversed. */
  shape: number[];
  ggmlType: number;
  /** e.g. "Q4_K"; "type <id>" for types this loader cannot dequantise. */
  typeName: string;
  numel: number;
  /** Absolute byte offset of the data in the file. */
  fileOffset: number;
  byteLength: number;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const CHUNK = 1 << 20;

/** Sequential little-endian reader over a file descriptor, refilling a 1 MiB window. */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0; // file offset of buf[0]
  pos = 0; // file offset of the next byte

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly path: string,
  ) {}

  private need(n: number): number {
    if (this.pos + n > this.size) throw new GgufError(this.path, `truncated header: needs ${n} bytes at offset ${this.pos}, file has ${this.size}`);
    const at = this.pos - this.bufStart;
    if (at >= 0 && at + n <= this.buf.length) return at;
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(n, CHUNK), this.size - this.pos));
    let done = 0;
    while (done < this.buf.length) done += readSync(this.fd, this.buf, done, this.buf.length - done, this.pos + done) || fail(this.path, this.pos + done);
    this.bufStart = this.pos;
    return 0;
  }
  u8(): number { const at = this.need(1); this.pos += 1; return this.buf.readUInt8(at); }
  i8(): number { const at = this.need(1); this.pos += 1; return this.buf.readInt8(at); }
  u16(): number { const at = this.need(2); this.pos += 2; return this.buf.readUInt16LE(at); }
  i16(): number { const at = this.need(2); this.pos += 2; return this.buf.readInt16LE(at); }
  u32(): number { const at = this.need(4); this.pos += 4; return this.buf.readUInt32LE(at); }
  i32(): number { const at = this.need(4); this.pos += 4; return this.buf.readInt32LE(at); }
  f32(): number { const at = this.need(4); this.pos += 4; return this.buf.readFloatLE(at); }
  f64(): number { const at = this.need(8); this.pos += 8; return this.buf.readDoubleLE(at); }
  u64(): number | bigint { const at = this.need(8); this.pos += 8; return small(this.buf.readBigUInt64LE(at)); }
  i64(): number | bigint { const at = this.need(8); this.pos += 8; return small(this.buf.readBigInt64LE(at)); }
  /** A u64 that must be a usable count or offset. */
  count(what: string): number {
    const v = this.u64();
    if (typeof v !== "number") throw new GgufError(this.path, `${what} ${v} is too large`);
    return v;
  }
  str(): string {
    const n = this.count("string length");
    const at = this.need(n);
    this.pos += n;
    return this.buf.toString("utf8", at, at + n);
  }
}

function fail(path: string, at: number): never {
  throw new GgufError(path, `unexpected end of file at byte ${at}`);
}
function small(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(r: HeaderReader, type: number, key: string, path: string): GgufValue {
  switch (type) {
    case 0: return r.u8();
    case 1: return r.i8();
    case 2: return r.u16();
    case 3: return r.i16();
    case 4: return r.u32();
    case 5: return r.i32();
    case 6: return r.f32();
    case 7: return r.u8() !== 0;
    case 8: return r.str();
    case 9: {
      const elemType = r.u32();
      const n = r.count(`array length of '${key}'`);
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r, elemType, key, path);
      return out;
    }
    case 10: return r.u64();
    case 11: return r.i64();
    case 12: return r.f64();
    default:
      throw new GgufError(path, `metadata '${key}' has unknown value type ${type}`);
  }
}

/** An open GGUF file: its metadata and tensor table, and on-demand tensor loading. */
export class GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: Map<string, GgufValue>;
  /** In file order. */
  readonly tensors: Map<string, GgufTensorInfo>;
  private fd: number | null;
  private scratch = Buffer.alloc(0);

  private constructor(path: string, fd: number, version: number, metadata: Map<string, GgufValue>, tensors: Map<string, GgufTensorInfo>) {
    this.path = path;
    this.fd = fd;
    this.version = version;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /** Opens `path` and reads its header (not the tensor data). Call `close()` when done. */
  static open(path: string): GgufFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      throw new GgufError(path, `cannot open: ${(err as Error).message}`, { cause: err });
    }
    try {
      const size = fstatSync(fd).size;
      const r = new HeaderReader(fd, size, path);
      if (size < 24 || r.u32() !== MAGIC) throw new GgufError(path, "not a GGUF file (the first 4 bytes must be 'GGUF')");
      const version = r.u32();
      // Version 1 used 32-bit counts and lengths; every current writer emits 2 or 3.
      if (version !== 2 && version !== 3) throw new GgufError(path, `GGUF version ${version} is not supported (expected 2 or 3)`);
      const tensorCount = r.count("tensor count");
      const kvCount = r.count("metadata count");
      const metadata = new Map<string, GgufValue>();
      for (let i = 0; i < kvCount; i++) {
        const key = r.str();
        metadata.set(key, readValue(r, r.u32(), key, path));
      }
      const raw: Array<{ name: string; dims: number[]; type: number; offset: number }> = [];
      for (let i = 0; i < tensorCount; i++) {
        const name = r.str();
        const nDims = r.u32();
        const dims: number[] = [];
        for (let d = 0; d < nDims; d++) dims.push(r.count(`dimension of tensor '${name}'`));
        const type = r.u32();
        raw.push({ name, dims, type, offset: r.count(`offset of tensor '${name}'`) });
      }
      const alignment = metadata.get("general.alignment") ?? 32;
      if (typeof alignment !== "number" || alignment < 1) throw new GgufError(path, `general.alignment must be a positive integer; got ${alignment}`);
      const dataStart = Math.ceil(r.pos / alignment) * alignment;
      const tensors = new Map<string, GgufTensorInfo>();
      for (const t of raw) {
        const numel = t.dims.reduce((a, b) => a * b, 1);
        const block = BLOCKS[t.type];
        const byteLength = block ? (numel / block.elems) * block.bytes : 0;
        if (block && numel % block.elems !== 0) throw new GgufError(path, `tensor '${t.name}' has ${numel} elements, not a multiple of ${block.name}'s block of ${block.elems}`);
        const fileOffset = dataStart + t.offset;
        if (fileOffset + byteLength > size) throw new GgufError(path, `tensor '${t.name}' runs past the end of the file (truncated download?)`);
        tensors.set(t.name, {
          name: t.name,
          shape: [...t.dims].reverse(),
          ggmlType: t.type,
          typeName: block?.name ?? OTHER_TYPES[t.type] ?? `type ${t.type}`,
          numel,
          fileOffset,
          byteLength,
        });
      }
      return new GgufFile(path, fd, version, metadata, tensors);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** A metadata value, or undefined. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  private info(name: string): GgufTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new GgufError(this.path, `no tensor named '${name}'`);
    if (!BLOCKS[info.ggmlType]) {
      throw new GgufError(this.path, `tensor '${name}' is ${info.typeName}; supported types are ${Object.keys(GGML_TYPES).join(", ")} (re-quantise the model, e.g. with llama-quantize)`);
    }
    return info;
  }

  /**
   * The raw (still quantised) bytes of a tensor. With `into` (large enough), they are read into its
   * start and a view of it is returned, so a loader can reuse one buffer for every tensor.
   */
  readTensorBytes(name: string, into?: Buffer): Buffer {
    const info = this.info(name);
    if (this.fd === null) throw new GgufError(this.path, "file is closed");
    const out = into && into.length >= info.byteLength ? into.subarray(0, info.byteLength) : Buffer.allocUnsafe(info.byteLength);
    let done = 0;
    while (done < out.length) {
      done += readSync(this.fd, out, done, Math.min(out.length - done, 1 << 30), info.fileOffset + done) || fail(this.path, info.fileOffset + done);
    }
    return out;
  }

  /** Reads and dequantises a tensor: float32 (or `dtype`), in PyTorch shape. */
  loadTensor(name: string, options: { dtype?: DType; device?: Device } = {}): Tensor {
    const info = this.info(name);
    // One scratch buffer for the raw bytes of every tensor (dequantize copies out of it before returning).
    if (this.scratch.length < info.byteLength) this.scratch = Buffer.allocUnsafe(info.byteLength);
    const flat = dequantize(this.readTensorBytes(name, this.scratch), info.ggmlType, [info.numel]);
    const shaped = flat.view(info.shape);
    flat.dispose();
    const dtype = options.dtype ?? "float32";
    if (dtype === "float32" && (options.device ?? "cpu") === "cpu") return shaped;
    const out = shaped.to({ dtype, device: options.device });
    shaped.dispose();
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.scratch = Buffer.alloc(0);
  }
}

/** Dequantises raw ggml block data of `ggmlType` into a float32 tensor of `shape` (native code). */
export function dequantize(bytes: Uint8Array, ggmlType: number, shape: number[]): Tensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  const flat = new Tensor(native.ggufDequantize(bytes, ggmlType, numel));
  if (shape.length === 1) return flat;
  const out = flat.view(shape);
  flat.dispose();
  return out;
}

/** Bytes that `numel` elements of `ggmlType` take, or undefined for unsupported types. */
export function ggmlTypeBytes(ggmlType: number, numel: number): number | undefined {
  const b = BLOCKS[ggmlType];
  return b && numel % b.elems === 0 ? (numel / b.elems) * b.bytes : undefined;
}
