import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replicaFaultCases } from "../../bench/fault-cases/replicas.ts";
import { BackgroundRollouts, InlineRollouts, NoProgressError, untilAborted } from "../../apps/grpo/rollout-driver.ts";
import { ReplayBuffer, type Episode } from "../../src/rl/index.ts";

const faultCase = (name: string) => replicaFaultCases.find((c) => c.name === name)!;

for (const name of ["kill-one-replica", "kill-all-replicas"]) {
  test(`separate placement: ${name} mid-run — restarted replicas load the current weights, the run completes`, async () => {
    const lines: string[] = [];
    const out = await faultCase(name).run({ dir: mkdtempSync(join(tmpdir(), "tf-fault-")), log: (l) => lines.push(l) });
    assert.equal(out.outcome, "completed", `${out.error ?? ""}\n${lines.join("\n")}`);
    assert.equal(out.stepsLost, 0);
    assert.ok(out.ok, out.detail); // every replica at the trainer's version and checksum; restarts counted
    assert.ok(out.restarts >= 1);
    assert.equal(lines.filter((l) => /service GeneratorActor: replica \d restarted \(pid \d+; restart 1/.test(l)).length, out.restarts, lines.join("\n"));
  });
}

test("separate placement: every replica killed with restart_limit 0 fails the run at once with a clear error", async () => {
  const out = await faultCase("kill-all-no-restart").run({ dir: mkdtempSync(join(tmpdir(), "tf-fault-")) });
  assert.equal(out.outcome, "failed");
  assert.match(out.error!, /service GeneratorActor is unavailable: every replica is unhealthy/);
  assert.ok(out.secondsAfterKill < 30, `failed ${out.secondsAfterKill} s after the kill`);
  assert.ok(out.stepsLost > 0);
});

/** A trainable episode of policy version `v` (only the fields the buffer reads). */
const episode = (v: number) => ({ policyVersion: v }) as unknown as Episode;

test("BackgroundRollouts: no fresh episode within the progress deadline is a NoProgressError naming the replicas", async () => {
  // A generator stuck on version 0: every episode is stale for a trainer at version 3 (max age 0).
  const buffer = new ReplayBuffer<Episode>({ batchSize: 2, maxPolicyAge: 0 });
  const stale = new BackgroundRollouts(buffer, async () => (await new Promise((r) => setTimeout(r, 5)), [episode(0)]), {
    workers: 1,
    maxBuffered: 4,
    progressTimeoutMs: 150,
    maxPolicyAge: 0,
    describe: () => "replica 0 recovering (2 restarts, pid none)",
  });
  const t0 = Date.now();
  await assert.rejects(stale.nextBatch(3, 0), (e: unknown) => e instanceof NoProgressError && /^no episode produced in 0\.2 s: generator replica 0 recovering \(2 restarts/.test(e.message));
  assert.ok(Date.now() - t0 < 2000);
  await stale.stop();
  // Fresh episodes keep it going: same deadline, a batch arrives.
  const fresh = new BackgroundRollouts(new ReplayBuffer<Episode>({ batchSize: 2, maxPolicyAge: 0 }), async () => [episode(3)], {
    workers: 1,
    maxBuffered: 4,
    progressTimeoutMs: 150,
    maxPolicyAge: 0,
  });
  assert.equal((await fresh.nextBatch(3, 0))[0]!.length, 2);
  await fresh.stop();
});

test("BackgroundRollouts: a rollout that never returns still lets nextBatch end (abort, or the deadline)", async () => {
  const never = () => new Promise<Episode[]>(() => undefined);
  const ac = new AbortController();
  const a = new BackgroundRollouts(new ReplayBuffer<Episode>({ batchSize: 2 }), never, { workers: 1, maxBuffered: 4 });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(a.nextBatch(0, 0, ac.signal), { name: "AbortError" });
  const b = new BackgroundRollouts(new ReplayBuffer<Episode>({ batchSize: 2 }), never, { workers: 1, maxBuffered: 4, progressTimeoutMs: 100 });
  await assert.rejects(b.nextBatch(0, 0), NoProgressError);
});

test("untilAborted: a wait for a remote generator ends on abort; an inline colocated rollout is not abandoned", async () => {
  const never = () => new Promise<Episode[]>(() => undefined);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  const remote = new InlineRollouts(new ReplayBuffer<Episode>({ batchSize: 2 }), never, { interruptible: true });
  await assert.rejects(remote.nextBatch(0, 0, ac.signal), { name: "AbortError" });
  // A failure after the abort is ignored (no unhandled rejection); a value before it passes through.
  let fail!: (e: Error) => void;
  const late = new Promise<number>((_, reject) => (fail = reject));
  await assert.rejects(untilAborted(late, ac.signal), { name: "AbortError" });
  fail(new Error("the service was shut down"));
  assert.equal(await untilAborted(Promise.resolve(7), new AbortController().signal), 7);
  // Not interruptible: the rollout finishes, then the abort is seen.
  const ac2 = new AbortController();
  let finished = false;
  const local = new InlineRollouts(new ReplayBuffer<Episode>({ batchSize: 2 }), async () => {
    ac2.abort();
    await new Promise((r) => setTimeout(r, 30));
    finished = true;
    return [];
  });
  await assert.rejects(local.nextBatch(0, 0, ac2.signal), { name: "AbortError" });
  assert.ok(finished);
});
