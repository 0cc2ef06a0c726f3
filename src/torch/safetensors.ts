/**
 * Hugging Face safetensors, read and written in TypeScript (the format is small: an 8-byte
 * little-endian header length, a JSON header of dtype/shape/byte ranges, then raw bytes).
 * Loading reads each tensor's bytes straight into its libtorch storage — no second copy of a
 * large file is held — and sharded checkpoints go through `*.safetensors.index.json`.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { native } from "./native.ts";
import { type DType, DTYPE_SIZE, dtypeCode } from "./dtype.ts";
import { Tensor } from "./tensor.ts";
import { SafetensorsError } from "./errors.ts";
import { writeAll, writeFileAtomic, writeFileAtomicWith } from "../util/atomic-write.ts";

const TO_FILE: Record<DType, string> = {
  float32: "F32", float64: "F64", bfloat16: "BF16", float16: "F16", int64: "I64", int32: "I32",
  int16: "I16", int8: "I8", uint8: "U8", bool: "BOOL",
};
const FROM_FILE: Record<string, DType> = Object.fromEntries(Object.entries(TO_FILE).map(([k, v]) => [v, k as DType]));
const MAX_HEADER = 100 * 1024 * 1024;

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Byte range within the data section. */
  dataOffsets: [number, number];
}
export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** File offset where the data section starts. */
  dataStart: number;
}

function readExactly(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, Math.min(target.byteLength - done, 1 << 30), position + done);
    if (n === 0) throw new SafetensorsError(path, `unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function parseHeader(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new SafetensorsError(path, `file is ${fileSize} bytes; too short for a safetensors header`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, path);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > fileSize) {
    throw new SafetensorsError(path, `header length ${headerLen} is invalid for a ${fileSize}-byte file`);
  }
  const headerBuf = Buffer.alloc(headerLen);
  readExactly(fd, headerBuf, 8, path);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(headerBuf.toString("utf8"));
  } catch (err) {
    throw new SafetensorsError(path, "header is not valid JSON", { cause: err });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new SafetensorsError(path, "header must be a JSON object");
  const dataStart = 8 + headerLen;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = FROM_FILE[String(e.dtype)];
    if (!dtype) throw new SafetensorsError(path, `tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SafetensorsError(path, `tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(Number.isInteger) || offs[0] > offs[1] || offs[1] > dataSize) {
      throw new SafetensorsError(path, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)} (data section is ${dataSize} bytes)`);
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    if (offs[1] - offs[0] !== expected) {
      throw new SafetensorsError(path, `tensor '${name}' covers ${offs[1] - offs[0]} bytes but ${dtype}[${shape}] needs ${expected}`);
    }
    tensors.set(name, { dtype, shape, dataOffsets: [offs[0], offs[1]] });
  }
  return { tensors, metadata, dataStart };
}

/** Reads only the header (names, dtypes, shapes, metadata) of a safetensors file. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openFile(path);
  try {
    return parseHeader(fd, path);
  } finally {
    closeSync(fd);
  }
}

function openFile(path: string): number {
  if (!existsSync(path)) throw new SafetensorsError(path, "file not found");
  return openSync(path, "r");
}

export interface LoadOptions {
  /** Cast floating-point tensors to this dtype after reading. */
  dtype?: DType;
  /** Move tensors to this device after reading. @default "cpu" */
  device?: string;
  /** Load only these names. */
  filter?: (name: string) => boolean;
}

function castAndMove(t: Tensor, options: LoadOptions): Tensor {
  const floating = t.dtype === "float32" || t.dtype === "bfloat16" || t.dtype === "float16" || t.dtype === "float64";
  const dtype = options.dtype && floating && options.dtype !== t.dtype ? options.dtype : undefined;
  const device = options.device && options.device !== "cpu" ? options.device : undefined;
  if (!dtype && !device) return t;
  const moved = t.to({ dtype, device });
  t.dispose();
  return moved;
}

/** Loads every tensor of one safetensors file. */
export function loadSafetensors(path: string, options: LoadOptions = {}): Map<string, Tensor> {
  const fd = openFile(path);
  const out = new Map<string, Tensor>();
  try {
    const header = parseHeader(fd, path);
    for (const [name, info] of header.tensors) {
      if (options.filter && !options.filter(name)) continue;
      const t = new Tensor(native.empty(info.shape, dtypeCode(info.dtype), null));
      const bytes = info.dataOffsets[1] - info.dataOffsets[0];
      if (bytes > 0) readExactly(fd, new Uint8Array(native.dataView(t._h)), header.dataStart + info.dataOffsets[0], path);
      out.set(name, castAndMove(t, options));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  } finally {
    closeSync(fd);
  }
  return out;
}

export interface SaveOptions {
  /** String metadata stored under `__metadata__`. */
  metadata?: Record<string, string>;
}

/** Writes tensors to one safetensors file, atomically. */
export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, options: SaveOptions = {}): void {
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") throw new TypeError(`metadata '${k}' must be a string; got ${typeof v}`);
    }
    header.__metadata__ = options.metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new TypeError(`value for '${name}' must be a Tensor`);
    const bytes = t.numel * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference does).
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  writeFileAtomicWith(path, (fd) => {
    writeAll(fd, len);
    writeAll(fd, headerBytes);
    for (const [, t] of entries) {
      if (t.numel === 0) continue;
      const ready = t.device === "cpu" && t.isContiguous();
      const src = ready ? t : t.detach().to({ device: "cpu" }).contiguous();
      try {
        writeAll(fd, new Uint8Array(native.dataView(src._h)));
      } finally {
        if (!ready) src.dispose();
      }
    }
  });
}

export interface ShardedSaveOptions extends SaveOptions {
  /** Largest shard in bytes (Hugging Face's default is 5 GB). @default 5e9 */
  maxShardBytes?: number;
  /** File name stem: `model` → `model-00001-of-00002.safetensors`. @default "model" */
  prefix?: string;
}

/**
 * Saves a state dict as Hugging Face does: one `model.safetensors` when it fits one shard, else
 * numbered shards plus `model.safetensors.index.json`. Returns the written file names.
 */
export function saveShardedSafetensors(dir: string, tensors: Map<string, Tensor>, options: ShardedSaveOptions = {}): string[] {
  const maxBytes = options.maxShardBytes ?? 5e9;
  const prefix = options.prefix ?? "model";
  const shards: [string, Tensor][][] = [[]];
  let current = 0;
  let total = 0;
  for (const [name, t] of tensors) {
    const bytes = t.numel * DTYPE_SIZE[t.dtype];
    if (current > 0 && current + bytes > maxBytes) {
      shards.push([]);
      current = 0;
    }
    shards[shards.length - 1]!.push([name, t]);
    current += bytes;
    total += bytes;
  }
  if (shards.length === 1) {
    const file = `${prefix}.safetensors`;
    saveSafetensors(join(dir, file), new Map(shards[0]), { metadata: { format: "pt", ...options.metadata } });
    return [file];
  }
  const n = shards.length;
  const weightMap: Record<string, string> = {};
  const files = shards.map((shard, i) => {
    const file = `${prefix}-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    saveSafetensors(join(dir, file), new Map(shard), { metadata: { format: "pt", ...options.metadata } });
    for (const [name] of shard) weightMap[name] = file;
    return file;
  });
  // The index goes last, so a reader that finds it also finds every shard it names.
  const index = `${prefix}.safetensors.index.json`;
  writeFileAtomic(join(dir, index), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
  return [...files, index];
}

/**
 * Loads a checkpoint given a `.safetensors` file, a `*.safetensors.index.json`, or a directory
 * holding either (`model.safetensors.index.json` is preferred over `model.safetensors`).
 */
export function loadCheckpoint(path: string, options: LoadOptions = {}): Map<string, Tensor> {
  let target = path;
  if (existsSync(path) && statSync(path).isDirectory()) {
    const candidates = ["model.safetensors.index.json", "model.safetensors"].map((f) => join(path, f));
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw new SafetensorsError(path, "directory has neither model.safetensors.index.json nor model.safetensors");
    target = found;
  }
  if (!target.endsWith(".json")) return loadSafetensors(target, options);
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(readFileSync(target, "utf8"));
  } catch (err) {
    throw new SafetensorsError(target, "index is not valid JSON", { cause: err });
  }
  if (!index.weight_map || typeof index.weight_map !== "object") throw new SafetensorsError(target, "index has no 'weight_map' object");
  const files = [...new Set(Object.values(index.weight_map))];
  const out = new Map<string, Tensor>();
  try {
    for (const file of files) {
      const wanted = new Set(Object.entries(index.weight_map).filter(([, f]) => f === file).map(([k]) => k));
      const shard = loadSafetensors(join(dirname(target), basename(file)), {
        ...options,
        filter: (name) => wanted.has(name) && (!options.filter || options.filter(name)),
      });
      for (const [k, t] of shard) out.set(k, t);
      for (const k of wanted) {
        if (!shard.has(k) && (!options.filter || options.filter(k))) throw new SafetensorsError(join(dirname(target), file), `tensor '${k}' named in the index is missing`);
      }
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}
