/**
 * Shared-memory backend for processes on one host: values are files in /dev/shm (tmpfs, i.e.
 * RAM). A `put` writes each tensor's bytes once (tensor memory → file, one copy, via
 * `Tensor.bytes()`); a `get` reads them once, straight into the reader's tensors
 * (`fs.readSync` into `into.bytes()`). Processes exchange only the store's `root` path or a
 * `ValueManifest` (path, dtypes, shapes, offsets, seq, checksums) — never bytes.
 *
 * Layout under `root`:
 *   data/<key>.<pid>-<seq>.bin    one immutable file per publish: tensors back to back, 64-byte aligned
 *   manifests/<key>.json          the published manifest, replaced by rename (the atomic publish point)
 *
 * Why this is safe without locks: a data file is complete before its manifest is renamed into
 * place and is never written again. A reader that opened a data file keeps reading it even if
 * the writer unlinks it (POSIX keeps unlinked open files alive); a reader that finds its data
 * file already gone re-reads the manifest. One writer per key (the trainer) is assumed.
 */
import { open as openAsync } from "node:fs/promises";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { crc32 } from "./crc32.ts";
import { ChecksumError, StoreArgumentError, StoreError, UnknownKeyError } from "./errors.ts";
import { bytesOf, checkKey, destinations, entriesOf, hostContiguous, layout } from "./tensors.ts";
import type { GetOptions, StoreValue, ValueManifest, WeightStore } from "./types.ts";

export interface SharedMemoryStoreOptions {
  /**
   * Store name; the files live in `<dir>/torchforge-store-<name>`. Processes that use the same
   * name (or `root`) share the store. @default a unique name per creating process
   */
  name?: string;
  /** Full path of the store directory (overrides `name` and `dir`). @default undefined */
  root?: string;
  /** Parent directory; must be a RAM-backed filesystem for speed. @default "/dev/shm" */
  dir?: string;
  /**
   * Compute a CRC-32 per tensor on `put` and verify it on `get`. Off by default: the bytes never
   * leave this host's RAM, and a ~0.5 GB/s checksum would cap a ≥2 GB/s copy. @default false
   */
  checksums?: boolean;
  /**
   * Remove the store directory on `close()` and at process exit. Give it to the process that
   * owns the store (the trainer/controller); attachers leave it alone. @default true for
   * `create`, false for `open`
   */
  removeOnClose?: boolean;
}

/** Roots to remove when this process exits, even without `close()`. */
const ownedRoots = new Set<string>();
let exitHookInstalled = false;
function removeAtExit(root: string): void {
  ownedRoots.add(root);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const r of ownedRoots) rmSync(r, { recursive: true, force: true });
  });
}

/** A key as a file name: percent-encoded (no `/`, no leading dot); checked against NAME_MAX (255) with room for suffixes. */
function fileKey(key: string): string {
  const f = encodeURIComponent(key).replace(/\./g, "%2E");
  if (f.length > 200) throw new StoreArgumentError("key", "must be at most 200 characters once percent-encoded for a file name (each '/' counts 3)", `${f.length} characters`);
  return f;
}
const keyOfFile = (file: string): string => decodeURIComponent(file.slice(0, -".json".length));
let seqCounter = 0;

export class SharedMemoryStore implements WeightStore {
  /** The directory holding this store; pass it to other processes so they can `open` it. */
  readonly root: string;
  readonly #checksums: boolean;
  readonly #removeOnClose: boolean;
  #closed = false;

  private constructor(root: string, options: SharedMemoryStoreOptions, owner: boolean) {
    this.root = root;
    this.#checksums = options.checksums ?? false;
    this.#removeOnClose = options.removeOnClose ?? owner;
    if (this.#removeOnClose) removeAtExit(root);
  }

  /** Creates (or reuses) the store directory; this process cleans it up by default. */
  static create(options: SharedMemoryStoreOptions = {}): SharedMemoryStore {
    const root = rootOf(options, true);
    mkdirSync(join(root, "data"), { recursive: true });
    mkdirSync(join(root, "manifests"), { recursive: true });
    return new SharedMemoryStore(root, options, true);
  }

  /** Attaches to a store another process created (by `name` or `root`). */
  static open(options: SharedMemoryStoreOptions): SharedMemoryStore {
    if (options.root === undefined && options.name === undefined) throw new StoreArgumentError("options", "needs `root` or `name` of an existing store");
    const root = rootOf(options, false);
    if (!existsSync(join(root, "manifests"))) throw new StoreArgumentError("options.root", "must be an existing store directory (made by SharedMemoryStore.create)", root);
    return new SharedMemoryStore(root, options, false);
  }

  /** Like `putSync`, but the copy runs on libuv's thread pool (in parallel pieces), so the event loop keeps serving. */
  async put(key: string, value: StoreValue): Promise<void> {
    const p = this.#prepare(key, value);
    try {
      const fh = await openAsync(p.path, "w");
      try {
        await parallel(p.pieces, async ([bytes, position]) => {
          let done = 0;
          while (done < bytes.byteLength) done += (await fh.write(bytes, done, bytes.byteLength - done, position + done)).bytesWritten;
        });
      } finally {
        await fh.close();
      }
      this.#publish(p);
    } catch (err) {
      rmSync(p.path, { force: true });
      throw err;
    } finally {
      p.release();
    }
  }

  /** Writes the data file, then publishes the manifest by rename, then drops the previous data file. */
  putSync(key: string, value: StoreValue): ValueManifest {
    const p = this.#prepare(key, value);
    try {
      const fd = openSync(p.path, "w");
      try {
        for (const [bytes, position] of p.pieces) {
          let done = 0;
          while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
        }
      } finally {
        closeSync(fd);
      }
      return this.#publish(p);
    } catch (err) {
      rmSync(p.path, { force: true });
      throw err;
    } finally {
      p.release();
    }
  }

  #prepare(key: string, value: StoreValue): Prepared {
    this.#open();
    checkKey(key);
    const given = entriesOf(value);
    const entries = given.map(([name, t]) => [name, hostContiguous(t)] as [string, typeof t]);
    const release = () => entries.forEach(([, t], i) => t !== given[i]![1] && t.dispose());
    try {
      const { handles, totalBytes } = layout(entries);
      const seq = ++seqCounter;
      const path = join(this.root, "data", `${fileKey(key)}.${process.pid}-${seq}-${Date.now().toString(36)}.bin`);
      const pieces: [Uint8Array, number][] = [];
      entries.forEach(([, t], i) => {
        const bytes = bytesOf(t);
        const h = handles[i]!;
        if (this.#checksums) h.crc32 = crc32(bytes);
        for (let off = 0; off < bytes.byteLength; off += PIECE) pieces.push([bytes.subarray(off, Math.min(off + PIECE, bytes.byteLength)), h.offset + off]);
      });
      const manifest: ValueManifest = { key, kind: value instanceof Map ? "stateDict" : "tensor", path, seq, totalBytes, tensors: handles };
      return { path, pieces, manifest, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The atomic publish point: rename the manifest into place; then the old data file can go. */
  #publish(p: Prepared): ValueManifest {
    const mPath = this.#manifestPath(p.manifest.key);
    const previous = readManifestFile(mPath);
    writeFileAtomic(mPath, JSON.stringify(p.manifest));
    if (previous && previous.path !== p.path) rmSync(previous.path, { force: true });
    return p.manifest;
  }

  /** Like `getSync`, but the copy runs on libuv's thread pool (in parallel pieces). */
  async get<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): Promise<V> {
    this.#open();
    checkKey(key);
    for (let attempt = 0; ; attempt++) {
      const manifest = readManifestFile(this.#manifestPath(key));
      if (!manifest) throw new UnknownKeyError(key);
      try {
        return (await readManifestAsync(manifest, { ...options, verify: this.#checksums })) as V;
      } catch (err) {
        if (err instanceof DataFileGoneError && attempt < 20) continue;
        if (err instanceof DataFileGoneError) throw new UnknownKeyError(key, "its data kept disappearing while reading; is the writer deleting it?");
        throw err;
      }
    }
  }

  getSync<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): V {
    this.#open();
    checkKey(key);
    // A writer may replace the value between our reading the manifest and opening its data file:
    // then the file is gone and the manifest is newer, so read again.
    for (let attempt = 0; ; attempt++) {
      const manifest = readManifestFile(this.#manifestPath(key));
      if (!manifest) throw new UnknownKeyError(key);
      try {
        return readManifest(manifest, { ...options, verify: this.#checksums }) as V;
      } catch (err) {
        if (err instanceof DataFileGoneError && attempt < 20) continue;
        if (err instanceof DataFileGoneError) throw new UnknownKeyError(key, "its data kept disappearing while reading; is the writer deleting it?");
        throw err;
      }
    }
  }

  /** The published manifest of `key` — the handle to send to another process on this host. */
  manifest(key: string): ValueManifest {
    this.#open();
    const m = readManifestFile(this.#manifestPath(checkKey(key)));
    if (!m) throw new UnknownKeyError(key);
    return m;
  }

  async keys(prefix = ""): Promise<string[]> {
    this.#open();
    return readdirSync(join(this.root, "manifests"))
      .filter((f) => f.endsWith(".json") && !f.startsWith("."))
      .map(keyOfFile)
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  async delete(key: string): Promise<void> {
    this.#open();
    const mPath = this.#manifestPath(checkKey(key));
    const m = readManifestFile(mPath);
    if (!m) throw new UnknownKeyError(key);
    rmSync(mPath, { force: true }); // unpublish first, then free the bytes
    rmSync(m.path, { force: true });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#removeOnClose) {
      rmSync(this.root, { recursive: true, force: true });
      ownedRoots.delete(this.root);
    }
  }

  #manifestPath(key: string): string {
    return join(this.root, "manifests", `${fileKey(key)}.json`);
  }

  #open(): void {
    if (this.#closed) throw new StoreError(`shared-memory store ${this.root} is closed`);
  }
}

function rootOf(options: SharedMemoryStoreOptions, creating: boolean): string {
  if (options.root !== undefined) return options.root;
  const name = options.name ?? (creating ? `${process.pid}-${Date.now().toString(36)}` : "");
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new StoreArgumentError("options.name", "must match [A-Za-z0-9._-]+", name);
  return join(options.dir ?? "/dev/shm", `torchforge-store-${name}`);
}

class DataFileGoneError extends Error {}

interface Prepared {
  path: string;
  /** [bytes, file position] pieces of at most PIECE bytes. */
  pieces: [Uint8Array, number][];
  manifest: ValueManifest;
  release(): void;
}

/** Async copies go in pieces of this size, `CONCURRENCY` at a time (libuv's pool has 4 threads). */
const PIECE = 16 << 20;
const CONCURRENCY = 4;

async function parallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

function readManifestFile(path: string): ValueManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ValueManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export interface ReadManifestOptions extends GetOptions {
  /** Check each tensor's CRC-32 when the manifest has one. @default true */
  verify?: boolean;
}

/**
 * Reads the value a manifest describes, one copy from the file into the target tensors. Usable
 * from any process on the host that received the manifest in a control message.
 */
export function readManifest(manifest: ValueManifest, options: ReadManifestOptions = {}): StoreValue {
  const { targets, value } = destinations(manifest.key, manifest.kind, manifest.tensors, options.into);
  let fd: number;
  try {
    fd = openSync(manifest.path, "r");
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new DataFileGoneError(manifest.path);
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    manifest.tensors.forEach((h, i) => {
      if (h.byteLength > 0 && h.offset + h.byteLength > size) throw new StoreError(`data file ${manifest.path} of '${manifest.key}' is ${size} bytes, too short for tensor '${h.name}' at ${h.offset}+${h.byteLength}`);
      const dst = bytesOf(targets[i]!);
      let done = 0;
      while (done < dst.byteLength) {
        const n = readSync(fd, dst, done, Math.min(dst.byteLength - done, 1 << 30), h.offset + done);
        if (n === 0) throw new StoreError(`unexpected end of ${manifest.path} reading '${manifest.key}'`);
        done += n;
      }
      if ((options.verify ?? true) && h.crc32 !== undefined) {
        const got = crc32(dst);
        if (got !== h.crc32) throw ChecksumError.mismatch(manifest.key, `tensor '${h.name}'`, h.crc32, got);
      }
    });
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    throw err;
  } finally {
    closeSync(fd);
  }
  return value;
}

/** `readManifest` with the copy on libuv's thread pool, in parallel pieces. */
export async function readManifestAsync(manifest: ValueManifest, options: ReadManifestOptions = {}): Promise<StoreValue> {
  const { targets, value } = destinations(manifest.key, manifest.kind, manifest.tensors, options.into);
  let fh;
  try {
    fh = await openAsync(manifest.path, "r");
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new DataFileGoneError(manifest.path);
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const pieces: [Uint8Array, number][] = [];
    manifest.tensors.forEach((h, i) => {
      if (h.byteLength > 0 && h.offset + h.byteLength > size) throw new StoreError(`data file ${manifest.path} of '${manifest.key}' is ${size} bytes, too short for tensor '${h.name}' at ${h.offset}+${h.byteLength}`);
      const dst = bytesOf(targets[i]!);
      for (let off = 0; off < dst.byteLength; off += PIECE) pieces.push([dst.subarray(off, Math.min(off + PIECE, dst.byteLength)), h.offset + off]);
    });
    await parallel(pieces, async ([dst, position]) => {
      let done = 0;
      while (done < dst.byteLength) {
        const { bytesRead } = await fh.read(dst, done, dst.byteLength - done, position + done);
        if (bytesRead === 0) throw new StoreError(`unexpected end of ${manifest.path} reading '${manifest.key}'`);
        done += bytesRead;
      }
    });
    if (options.verify ?? true) {
      manifest.tensors.forEach((h, i) => {
        if (h.crc32 === undefined) return;
        const got = crc32(bytesOf(targets[i]!));
        if (got !== h.crc32) throw ChecksumError.mismatch(manifest.key, `tensor '${h.name}'`, h.crc32, got);
      });
    }
  } catch (err) {
    if (options.into === undefined) for (const t of targets) t.dispose();
    throw err;
  } finally {
    await fh.close();
  }
  return value;
}
