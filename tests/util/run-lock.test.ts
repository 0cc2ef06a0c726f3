import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireRunLock, RunLockError } from "../../src/util/run-lock.ts";

test("one holder at a time: a second acquire names the live holder; release frees the directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lock-"));
  const lock = acquireRunLock(dir);
  assert.ok(existsSync(lock.path));
  assert.throws(() => acquireRunLock(dir), (e: Error) => e instanceof RunLockError && new RegExp(`in use by process ${process.pid}`).test(e.message));
  lock.release();
  assert.equal(existsSync(lock.path), false);
  acquireRunLock(dir).release();
});

test("a lock left by a dead process is taken over, with a message; a half-written lock counts as stale", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lock-"));
  const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
  writeFileSync(join(dir, ".lock"), JSON.stringify({ pid: Number(gone), host: hostname(), startedAt: "earlier" }));
  const lines: string[] = [];
  const lock = acquireRunLock(dir, { log: (l) => lines.push(l) });
  assert.match(lines.join("\n"), new RegExp(`stale lock .*process ${gone} is gone`));
  lock.release();
  writeFileSync(join(dir, ".lock"), '{"pid": 12');
  acquireRunLock(dir).release();
});

test("a lock held on another host is not taken over", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-lock-"));
  writeFileSync(join(dir, ".lock"), JSON.stringify({ pid: 1, host: "elsewhere", startedAt: "x" }));
  assert.throws(() => acquireRunLock(dir), /locked by process 1 on host elsewhere; remove .*\.lock if that run is gone/);
});
