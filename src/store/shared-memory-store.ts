/**
 * Shared-memory backend for processes on one host: values are files in /dev/shm (tmpfs, i.e.
 * RAM). A `put` writes each tensor's bytes once (tensor memory → file, one copy, via
 * `Tensor.bytes()`); a `get` reads them once, straight into the reader's tensors. Processes
 * exchange only the store's `root` path or a `ValueManifest` (files, dtypes, shapes, offsets,
 * stamp, checksums) — never bytes.
 *
 * Layout under `root`:
 *   data/<key>.<pid>-<seq>-<t>.<i>.bin  part i of one publish (format: shm-data-files.ts)
 *   manifests/<key>.json                the published manifest, replaced by rename (the atomic publish point)
 *   pool/<pid>-<n>.bin                  retired part files kept for reuse (shm-file-pool.ts)
 *   owner.json                          the creating process (pid, start time): leftovers of a dead owner are reclaimed (shm-owner.ts)
 *
 * Why this is safe without locks: every part is complete, with the stamp written last, before
 * the manifest is renamed into place. Reusing a pooled file first zeroes its stamp, then writes
 * the data, then the new stamp; readers check the stamps before and after copying and re-read
 * the manifest when they changed or a file is gone. One writer per key (the trainer) is
 * assumed; writers of different keys may share the store and its pool.
 */
import { randomInt } from "node:crypto";
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { open as openAsync, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { crc32 } from "./crc32.ts";
import { StaleManifestError, StoreArgumentError, StoreError, UnknownKeyError } from "./errors.ts";
import { MAX_PARTS, partFileBytes, partition, readManifest, readManifestAsync, segmentsOf, stampBytes, writeAll, writeAllAsync } from "./shm-data-files.ts";
import { ShmFilePool } from "./shm-file-pool.ts";
import { STORE_PREFIX, sweepDeadStores, writeOwner } from "./shm-owner.ts";
import { bytesOf, checkKey, entriesOf, hostContiguous, layout } from "./tensors.ts";
import type { GetOptions, StoreValue, ValueManifest, WeightStore } from "./types.ts";

export { readManifest, readManifestAsync, type ReadManifestOptions } from "./shm-data-files.ts";

export interface SharedMemoryStoreOptions {
  /**
   * Store name; the files live in `<dir>/torchforge-store-<name>`. Processes that use the same
   * name (or `root`) share the store. @default `<pid>-<time>`, unique per creating process
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
  /**
   * How many retired values' data files (of replaced or deleted values) to keep in `pool/` for
   * the next puts to overwrite instead of allocating fresh RAM pages. The pool holds their RAM
   * between puts: with `VersionedStore` (keepLast 2) and the default, /dev/shm holds 3 copies of
   * the state dict (2 published, 1 pooled), which is also the peak without a pool (during a
   * publish). 0 frees retired files at once. @default 1
   */
  recycle?: number;
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
  readonly #pool: ShmFilePool;
  #closed = false;

  private constructor(root: string, options: SharedMemoryStoreOptions, owner: boolean) {
    this.root = root;
    this.#checksums = options.checksums ?? false;
    this.#removeOnClose = options.removeOnClose ?? owner;
    const recycle = checkRecycle(options.recycle);
    this.#pool = new ShmFilePool(join(root, "pool"), recycle * MAX_PARTS);
    if (this.#removeOnClose) removeAtExit(root);
  }

  /**
   * Creates (or reuses) the store directory; this process cleans it up by default. First reclaims
   * the temporary stores of dead processes next to it (see shm-owner.ts), then records this
   * process as the owner, so a run killed before it could clean up is reclaimed by the next one.
   */
  static create(options: SharedMemoryStoreOptions = {}): SharedMemoryStore {
    const root = rootOf(options, true);
    checkRecycle(options.recycle); // before anything is made: a rejected create leaves nothing behind
    sweepDeadStores({ dir: dirname(root) });
    mkdirSync(join(root, "data"), { recursive: true });
    mkdirSync(join(root, "manifests"), { recursive: true });
    writeOwner(root, options.removeOnClose ?? true);
    return new SharedMemoryStore(root, options, true);
  }

  /** Attaches to a store another process created (by `name` or `root`). */
  static open(options: SharedMemoryStoreOptions): SharedMemoryStore {
    if (options.root === undefined && options.name === undefined) throw new StoreArgumentError("options", "needs `root` or `name` of an existing store");
    const root = rootOf(options, false);
    if (!existsSync(join(root, "manifests"))) throw new StoreArgumentError("options.root", "must be an existing store directory (made by SharedMemoryStore.create)", root);
    return new SharedMemoryStore(root, options, false);
  }

  /** Like `putSync`, but the copy runs on libuv's thread pool (one writer per part file), so the event loop keeps serving. */
  async put(key: string, value: StoreValue): Promise<void> {
    const p = this.#prepare(key, value);
    const fhs: FileHandle[] = [];
    try {
      for (const [i, path] of p.manifest.files.entries()) {
        const fh = await openAsync(path, p.reused[i] ? "r+" : "w");
        fhs.push(fh);
        // Stamp first: a reader still holding this (pooled) file must see it change before the
        // resize can cut its read short. Then the exact size (a pooled file may be longer).
        await writeAllAsync(fh, stampBytes(0), 0);
        await fh.truncate(partFileBytes(p.manifest, i));
      }
      // One writer per part: writes to one tmpfs file serialise on its inode lock.
      await Promise.all(fhs.map(async (fh, i) => {
        for (const [bytes, position] of p.pieces[i]!) await writeAllAsync(fh, bytes, position);
      }));
      for (const fh of fhs) await writeAllAsync(fh, stampBytes(p.manifest.stamp), 0);
      this.#publish(p);
    } catch (err) {
      for (const path of p.manifest.files) rmSync(path, { force: true });
      throw err;
    } finally {
      await Promise.all(fhs.map((fh) => fh.close()));
      p.release();
    }
  }

  /** Writes the data files, then publishes the manifest by rename, then retires the previous files. */
  putSync(key: string, value: StoreValue): ValueManifest {
    const p = this.#prepare(key, value);
    const fds: number[] = [];
    try {
      for (const [i, path] of p.manifest.files.entries()) {
        const fd = openSync(path, p.reused[i] ? "r+" : "w");
        fds.push(fd);
        writeAll(fd, stampBytes(0), 0); // before the resize, as in put
        ftruncateSync(fd, partFileBytes(p.manifest, i));
      }
      fds.forEach((fd, i) => {
        for (const [bytes, position] of p.pieces[i]!) writeAll(fd, bytes, position);
      });
      for (const fd of fds) writeAll(fd, stampBytes(p.manifest.stamp), 0);
      return this.#publish(p);
    } catch (err) {
      for (const path of p.manifest.files) rmSync(path, { force: true });
      throw err;
    } finally {
      for (const fd of fds) closeSync(fd);
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
      const { parts, partBytes } = partition(totalBytes);
      const stem = join(this.root, "data", `${fileKey(key)}.${process.pid}-${++seqCounter}-${Date.now().toString(36)}`);
      const files = Array.from({ length: parts }, (_, i) => `${stem}.${i}.bin`);
      const manifest: ValueManifest = { key, kind: value instanceof Map ? "stateDict" : "tensor", files, partBytes, stamp: randomInt(1, 2 ** 47), seq: seqCounter, totalBytes, tensors: handles };
      const pieces: [Uint8Array, number][][] = files.map(() => []);
      entries.forEach(([, t], i) => {
        const bytes = bytesOf(t);
        const h = handles[i]!;
        if (this.#checksums) h.crc32 = crc32(bytes);
        for (const s of segmentsOf(h.offset, h.byteLength, partBytes, parts)) pieces[s.part]!.push([bytes.subarray(s.start, s.start + s.length), s.position]);
      });
      const reused = this.#pool.take(files.map((path, i) => ({ path, bytes: partFileBytes(manifest, i) })));
      return { pieces, manifest, reused, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The atomic publish point: rename the manifest into place; then the old files can be retired. */
  #publish(p: Prepared): ValueManifest {
    const mPath = this.#manifestPath(p.manifest.key);
    const previous = readManifestFile(mPath);
    writeFileAtomic(mPath, JSON.stringify(p.manifest));
    if (previous) for (const path of previous.files) this.#pool.retire(path);
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
        retryIfStale(key, attempt, err);
      }
    }
  }

  getSync<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): V {
    this.#open();
    checkKey(key);
    for (let attempt = 0; ; attempt++) {
      const manifest = readManifestFile(this.#manifestPath(key));
      if (!manifest) throw new UnknownKeyError(key);
      try {
        return readManifest(manifest, { ...options, verify: this.#checksums }) as V;
      } catch (err) {
        retryIfStale(key, attempt, err);
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
    rmSync(mPath, { force: true }); // unpublish first, then pool (or free) the bytes
    for (const path of m.files) this.#pool.retire(path);
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

/**
 * After a failed read of `key`: returns when the value was merely replaced under the reader (the
 * manifest is newer, so read again), else throws — the error itself, or after 20 replaced reads
 * an `UnknownKeyError` (a reader must not spin forever behind a runaway writer).
 */
function retryIfStale(key: string, attempt: number, err: unknown): void {
  if (!(err instanceof StaleManifestError)) throw err;
  if (attempt >= 20) throw new UnknownKeyError(key, "its data kept being replaced while reading; is more than one process writing it?");
}

function checkRecycle(recycle: number | undefined): number {
  const r = recycle ?? 1;
  if (!Number.isInteger(r) || r < 0) throw new StoreArgumentError("options.recycle", "must be an integer >= 0", recycle);
  return r;
}

function rootOf(options: SharedMemoryStoreOptions, creating: boolean): string {
  if (options.root !== undefined) return options.root;
  const name = options.name ?? (creating ? `${process.pid}-${Date.now().toString(36)}` : "");
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new StoreArgumentError("options.name", "must match [A-Za-z0-9._-]+", name);
  return join(options.dir ?? "/dev/shm", `${STORE_PREFIX}${name}`);
}

interface Prepared {
  manifest: ValueManifest;
  /** Per part file: [bytes, file position] pieces of at most PIECE bytes. */
  pieces: [Uint8Array, number][][];
  /** Per part file: whether it is a pooled file overwritten in place (else a new file). */
  reused: boolean[];
  release(): void;
}

function readManifestFile(path: string): ValueManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ValueManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
