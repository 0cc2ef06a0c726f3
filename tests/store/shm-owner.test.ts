import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SharedMemoryStore, StoreArgumentError, readOwner, sweepDeadStores } from "../../src/store/index.ts";

/** A pid that is certainly gone: a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

describe("shared-memory store owners", () => {
  it("records the creating process and reclaims a dead owner's store, never a live one's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-shm-owner-"));
    const mine = SharedMemoryStore.create({ dir, name: "live" });
    assert.equal(readOwner(mine.root)?.pid, process.pid);
    // A leftover of a dead run: the same layout, an owner that has exited.
    const dead = join(dir, "torchforge-store-dead");
    mkdirSync(join(dead, "manifests"), { recursive: true });
    writeFileSync(join(dead, "owner.json"), JSON.stringify({ pid: deadPid(), host: hostname(), startTicks: null, temporary: true }));
    const kept = join(dir, "torchforge-store-persistent");
    mkdirSync(kept);
    writeFileSync(join(kept, "owner.json"), JSON.stringify({ pid: deadPid(), host: hostname(), startTicks: null, temporary: false }));
    const unowned = join(dir, "torchforge-store-x");
    mkdirSync(unowned);
    // An older store without owner file whose name holds a running pid (this one): kept even by `forge clean`.
    const legacyLive = join(dir, `torchforge-store-grpo-${process.pid}`);
    mkdirSync(legacyLive);
    const r = sweepDeadStores({ dir });
    assert.deepEqual(r.removed, [dead]);
    assert.ok(existsSync(mine.root) && existsSync(kept) && existsSync(unowned));
    // The next create sweeps too; unowned leftovers go with `forge clean` (unowned: true).
    assert.deepEqual(sweepDeadStores({ dir, unowned: true, unownedAgeMs: 0 }).removed, [unowned]);
    assert.ok(existsSync(legacyLive));
    await mine.close();
    assert.ok(!existsSync(mine.root));
  });

  it("a rejected create leaves no directory behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-shm-owner-"));
    assert.throws(() => SharedMemoryStore.create({ dir, name: "bad", recycle: -1 }), StoreArgumentError);
    assert.ok(!existsSync(join(dir, "torchforge-store-bad")));
  });
});
