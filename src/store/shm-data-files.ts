/**
 * The on-disk form of one shared-memory value: its bytes (tensors back to back, as `layout`
 * places them) split into up to `MAX_PARTS` files of equal size, each starting with a 64-byte
 * header whose first 8 bytes hold the publish's stamp (a float64 integer; 0 while being written).
 *
 * Why parts: writes to one tmpfs file serialise on its inode lock (500 MB: ~140 ms whatever the
 * thread count), writes to separate files run in parallel (4 files: ~75 ms on 2 cores).
 * Why stamps: files are reused in place (see `ShmFilePool`), so a reader checks that every part
 * still holds its manifest's stamp before and after copying (a seqlock) instead of trusting that
 * a file it opened is immutable.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { open as openAsync, type FileHandle } from "node:fs/promises";
import { crc32 } from "./crc32.ts";
import { ChecksumError, StaleManifestError, StoreError } from "./errors.ts";
import { alignUp, bytesOf, destinations } from "./tensors.ts";
import type { Tensor } from "../torch/index.ts";
import type { GetOptions, StoreValue, ValueManifest } from "./types.ts";

const HEADER_BYTES = 64;
/** At most this many part files per value; one per libuv pool thread (4 by default). */
export const MAX_PARTS = 4;
/** Values below this size stay in one file (more files would cost more than they save). */
const MIN_PART_BYTES = 8 << 20;
/** Copies go in pieces of at most this size, so a big tensor is spread over the pool's threads. */
const PIECE = 16 << 20;

/** How a value of `totalBytes` is split: `parts` files holding `partBytes` each (the last the rest). */
export function partition(totalBytes: number): { parts: number; partBytes: number } {
  const parts = Math.max(1, Math.min(MAX_PARTS, Math.floor(totalBytes / MIN_PART_BYTES)));
  return { parts, partBytes: parts === 1 ? totalBytes : alignUp(Math.ceil(totalBytes / parts)) };
}

/** Size of part `i` including its header. */
export function partFileBytes(m: Pick<ValueManifest, "files" | "partBytes" | "totalBytes">, i: number): number {
  const last = i === m.files.length - 1;
  return HEADER_BYTES + (last ? m.totalBytes - m.partBytes * i : m.partBytes);
}

/** A contiguous run of a value's bytes inside one part: `length` bytes at `position` of file `part`, `start` bytes into the run's tensor. */
export interface Segment {
  part: number;
  position: number;
  start: number;
  length: number;
}

/** Splits `length` bytes at logical `offset` into segments that stay within one part and one `PIECE`. */
export function segmentsOf(offset: number, length: number, partBytes: number, parts: number): Segment[] {
  const out: Segment[] = [];
  for (let done = 0; done < length; ) {
    const at = offset + done;
    const part = partBytes === 0 ? 0 : Math.min(parts - 1, Math.floor(at / partBytes));
    const partEnd = part === parts - 1 ? Infinity : (part + 1) * partBytes;
    const n = Math.min(length - done, PIECE, partEnd - at);
    out.push({ part, position: HEADER_BYTES + at - part * partBytes, start: done, length: n });
    done += n;
  }
  return out;
}

export function stampBytes(stamp: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, stamp, true);
  return b;
}

const stampOf = (buf: Uint8Array, bytesRead: number): number => (bytesRead === 8 ? new DataView(buf.buffer, buf.byteOffset, 8).getFloat64(0, true) : Number.NaN);

export function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

export async function writeAllAsync(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) done += (await fh.write(bytes, done, bytes.byteLength - done, position + done)).bytesWritten;
}

/** Runs `fn` over `items` with at most MAX_PARTS in flight (libuv's pool has 4 threads). */
async function parallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARTS, items.length) }, worker));
}

export interface ReadManifestOptions extends GetOptions {
  /** Check each tensor's CRC-32 when the manifest has one. @default true */
  verify?: boolean;
}

/**
 * Reads the value a manifest describes, one copy from the files into the target tensors. Usable
 * from any process on the host that received the manifest in a control message. Throws
 * `StaleManifestError` when the key was published again or deleted before or during the read
 * (then `into`, if given, holds unspecified bytes): read the current manifest and retry.
 */
export function readManifest(manifest: ValueManifest, options: ReadManifestOptions = {}): StoreValue {
  const { targets, value } = destinations(manifest.key, manifest.kind, manifest.tensors, options.into);
  const fds: number[] = [];
  const stampBuf = new Uint8Array(8);
  const stampsOk = () => fds.every((fd) => stampOf(stampBuf, readSync(fd, stampBuf, 0, 8, 0)) === manifest.stamp);
  try {
    for (const path of manifest.files) {
      try {
        fds.push(openSync(path, "r"));
      } catch (err) {
        throw missingAsStale(err, manifest, path);
      }
    }
    if (!stampsOk()) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    checkSizes(manifest, fds.map((fd) => fstatSync(fd).size));
    manifest.tensors.forEach((h, i) => {
      const dst = bytesOf(targets[i]!);
      for (const s of segmentsOf(h.offset, h.byteLength, manifest.partBytes, manifest.files.length)) {
        let done = 0;
        while (done < s.length) {
          const n = readSync(fds[s.part]!, dst, s.start + done, s.length - done, s.position + done);
          if (n === 0) throw new StoreError(`unexpected end of ${manifest.files[s.part]} reading '${manifest.key}'`);
          done += n;
        }
      }
    });
    if (!stampsOk()) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    verify(manifest, targets, options);
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    // A file reused (and resized) under us fails in other ways first; report it as what it is.
    if (!(err instanceof StaleManifestError) && fds.length === manifest.files.length && !stampsOk()) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return value;
}

/** `readManifest` with the copy on libuv's thread pool, in parallel pieces. */
export async function readManifestAsync(manifest: ValueManifest, options: ReadManifestOptions = {}): Promise<StoreValue> {
  const { targets, value } = destinations(manifest.key, manifest.kind, manifest.tensors, options.into);
  const fhs: FileHandle[] = [];
  const stampsOk = async () => {
    for (const fh of fhs) {
      const buf = new Uint8Array(8);
      if (stampOf(buf, (await fh.read(buf, 0, 8, 0)).bytesRead) !== manifest.stamp) return false;
    }
    return true;
  };
  try {
    for (const path of manifest.files) fhs.push(await openAsync(path, "r").catch((err) => Promise.reject(missingAsStale(err, manifest, path))));
    if (!(await stampsOk())) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    checkSizes(manifest, await Promise.all(fhs.map(async (fh) => (await fh.stat()).size)));
    const pieces: [Uint8Array, Segment][] = [];
    manifest.tensors.forEach((h, i) => {
      const dst = bytesOf(targets[i]!);
      for (const s of segmentsOf(h.offset, h.byteLength, manifest.partBytes, manifest.files.length)) pieces.push([dst, s]);
    });
    await parallel(pieces, async ([dst, s]) => {
      let done = 0;
      while (done < s.length) {
        const { bytesRead } = await fhs[s.part]!.read(dst, s.start + done, s.length - done, s.position + done);
        if (bytesRead === 0) throw new StoreError(`unexpected end of ${manifest.files[s.part]} reading '${manifest.key}'`);
        done += bytesRead;
      }
    });
    if (!(await stampsOk())) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    verify(manifest, targets, options);
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    if (!(err instanceof StaleManifestError) && fhs.length === manifest.files.length && !(await stampsOk())) throw new StaleManifestError(manifest.key, manifest.files[0]!);
    throw err;
  } finally {
    await Promise.all(fhs.map((fh) => fh.close()));
  }
  return value;
}

/** A part that is gone means the value was replaced or deleted since the manifest was read. */
function missingAsStale(err: unknown, manifest: ValueManifest, path: string): unknown {
  return (err as NodeJS.ErrnoException).code === "ENOENT" ? new StaleManifestError(manifest.key, path) : err;
}

function checkSizes(manifest: ValueManifest, sizes: number[]): void {
  sizes.forEach((size, i) => {
    const want = partFileBytes(manifest, i);
    if (size < want) throw new StoreError(`data file ${manifest.files[i]} of '${manifest.key}' is ${size} bytes, expected ${want}`);
  });
}

function verify(manifest: ValueManifest, targets: Tensor[], options: ReadManifestOptions): void {
  if (!(options.verify ?? true)) return;
  manifest.tensors.forEach((h, i) => {
    if (h.crc32 === undefined) return;
    const got = crc32(bytesOf(targets[i]!));
    if (got !== h.crc32) throw ChecksumError.mismatch(manifest.key, `tensor '${h.name}'`, h.crc32, got);
  });
}
