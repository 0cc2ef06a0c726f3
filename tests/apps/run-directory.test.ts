import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { prepareWritableDir } from "../../apps/shared/run-directory.ts";

const error = (m: string) => new Error(m);

describe("output directories are checked up front", () => {
  it("rejects a directory under /proc or /sys, naming the key and the path", () => {
    assert.throws(() => prepareWritableDir("output_dir", "/proc/self/tf-run", error), /^Error: output_dir: \/proc\/self\/tf-run is under \/proc, a kernel pseudo-filesystem/);
    assert.throws(() => prepareWritableDir("checkpoint.folder", "/sys/tf-run", error), /checkpoint\.folder: \/sys\/tf-run is under \/sys/);
  });

  it("rejects a location that cannot be created, naming the path and the reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-rundir-"));
    writeFileSync(join(dir, "file"), "");
    const path = join(dir, "file", "run");
    assert.throws(() => prepareWritableDir("output_dir", path, error), (e: Error) => e.message.includes(`output_dir: ${path}`) && /ENOTDIR|EEXIST/.test(e.message));
  });

  it("creates a writable directory and leaves no probe file", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "tf-rundir-")), "a", "b");
    prepareWritableDir("output_dir", dir, error);
    const { readdirSync } = await import("node:fs");
    assert.deepEqual(readdirSync(dir), []);
  });
});
