/**
 * Atomic file writes: the content goes to a temp file in the target's directory, is flushed to
 * disk, and is renamed over the target, so a reader (or a crash) never sees a partial file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";

/** Writes through `write(fd)` into a temp file, then renames it to `path`. */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(tmp, "w");
  try {
    write(fd);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFileAtomicWith(path, (fd) => writeAll(fd, typeof data === "string" ? Buffer.from(data) : data));
}

/** `writeSync` may write less than asked; loop until all bytes are out. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) {
    off += writeSync(fd, bytes, off, Math.min(bytes.byteLength - off, 1 << 30));
  }
}
