/**
 * Retired shared-memory data files kept for reuse. A fresh tmpfs file costs a page allocation
 * per 4 KiB, and on this kind of VM fresh pages are slow and erratic (writing 500 MB into new
 * pages took 170-1500 ms, into pages a file already had ~120 ms), so the store moves a replaced
 * or deleted value's files here and the next put overwrites them in place. Readers that still
 * hold such a file notice through its stamp (see shm-data-files.ts).
 *
 * Taking and returning are renames, so several writer processes can share one pool.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

let counter = 0;

export class ShmFilePool {
  readonly dir: string;
  /** Most files kept; beyond that, retired files are freed. 0 disables the pool. */
  readonly capacity: number;

  constructor(dir: string, capacity: number) {
    this.dir = dir;
    this.capacity = capacity;
  }

  /**
   * Moves pooled files to the requested paths (one listing of the pool for all of them); per
   * request, whether it got a file (else the caller creates one). A request prefers a file of
   * exactly its `bytes` (no resize), else the largest left (its pages cover the most).
   */
  take(requests: { path: string; bytes: number }[]): boolean[] {
    if (this.capacity === 0) return requests.map(() => false);
    const files = this.#list().flatMap((file) => {
      try {
        return [{ file, size: statSync(join(this.dir, file)).size }];
      } catch {
        return []; // taken by another writer meanwhile
      }
    });
    return requests.map(({ path, bytes }) => {
      files.sort((a, b) => Number(b.size === bytes) - Number(a.size === bytes) || b.size - a.size);
      while (files.length > 0) {
        const { file } = files.shift()!;
        try {
          renameSync(join(this.dir, file), path);
          return true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // another writer took it
        }
      }
      return false;
    });
  }

  /** Keeps the file at `path` for reuse while the pool has room, else removes it. */
  retire(path: string): void {
    if (this.capacity > 0) {
      mkdirSync(this.dir, { recursive: true });
      if (this.#list().length < this.capacity) {
        try {
          renameSync(path, join(this.dir, `${process.pid}-${++counter}.bin`));
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // retired by another pruner first
          throw err;
        }
      }
    }
    rmSync(path, { force: true });
  }

  #list(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f.endsWith(".bin"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }
}
