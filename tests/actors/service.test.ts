import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ActorError, ServiceUnavailableError, UnknownEndpointError } from "../../src/actors/index.ts";
import { Counter } from "./fixtures/counter.ts";
import { assertNoOrphans, isAlive, sleep, waitFor } from "./fixtures/helpers.ts";

/** Every pid any test saw, checked at the end (each test also checks its own). */
const seen = new Set<number>();
function pidsOf(svc: { replicas(): { pids: (number | undefined)[] }[] }): number[] {
  const pids = svc.replicas().flatMap((r) => r.pids.filter((p): p is number => p !== undefined));
  for (const p of pids) seen.add(p);
  return pids;
}

describe("services over child processes", () => {
  after(() => assertNoOrphans(seen));

  it("routes round-robin, fans out, and survives user exceptions", async () => {
    const svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 0 }).asService();
    const pids = pidsOf(svc);
    assert.equal(pids.length, 2);
    await Promise.all([svc.incr.route(), svc.incr.route(), svc.incr.route(), svc.incr.route()]);
    assert.deepEqual(await svc.value.fanout(), [2, 2]);
    await assert.rejects(svc.failMe.route("user bug"), (e: unknown) => e instanceof ActorError && /threw TypeError: user bug/.test(e.message));
    assert.deepEqual(pidsOf(svc), pids, "a user exception must not restart the replica");
    assert.deepEqual(svc.replicas().map((r) => r.state), ["healthy", "healthy"]);
    await assert.rejects((svc as unknown as Record<string, { route(): Promise<unknown> }>).nope!.route(), UnknownEndpointError);
    await svc.shutdown();
    assert.deepEqual(svc.replicas().map((r) => r.state), ["stopped", "stopped"]);
    await assert.rejects(svc.incr.route(), ServiceUnavailableError);
    await assertNoOrphans(pids);
  });

  it("completes in-flight requests on another replica when one is SIGKILLed, and restarts it", async () => {
    const svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 0 }).asService();
    const [pid0, pid1] = pidsOf(svc);
    const calls = Array.from({ length: 6 }, () => svc.slowIncr.route(300));
    await sleep(80);
    assert.equal(svc.replicas()[0]!.inflight, 3);
    process.kill(pid0!, "SIGKILL");
    const values = await Promise.all(calls);
    assert.equal(values.length, 6);
    // All six increments landed on the surviving replica (3 of them after a retry), none lost.
    assert.deepEqual([...values].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
    await waitFor(() => svc.replicas()[0]!.state === "healthy" && svc.replicas()[0]!.restarts === 1, "replica 0 to restart");
    const [newPid0, samePid1] = pidsOf(svc);
    assert.notEqual(newPid0, pid0);
    assert.equal(samePid1, pid1);
    assert.ok(!isAlive(pid0!));
    assert.deepEqual(await svc.value.fanout(), [0, 6]);
    await svc.shutdown();
    await assertNoOrphans([pid0!, ...pidsOf(svc)]);
  });

  it("holds a request until a lone replica is back (nothing lost)", async () => {
    await using svc = await Counter.options({ procs: 1, healthCheckIntervalMs: 0 }).asService({ start: 100 });
    const [pid] = pidsOf(svc);
    const call = svc.slowIncr.route(200);
    await sleep(50);
    process.kill(pid!, "SIGKILL");
    // The restarted actor starts from its constructor config again.
    assert.equal(await call, 101);
    assert.equal(svc.replicas()[0]!.restarts, 1);
    pidsOf(svc);
  });

  it("keeps sticky sessions on their replica when other replicas fail", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 3, healthCheckIntervalMs: 0 }).asService();
    pidsOf(svc);
    await svc.session(async () => {
      const home = (await svc.stats.route()).replica;
      assert.deepEqual([await svc.incr.route(), await svc.incr.route()], [1, 2]);
      // Kill every other replica; the session keeps going where it was.
      for (const r of svc.replicas()) if (r.index !== home) process.kill(r.pids[0]!, "SIGKILL");
      await waitFor(() => svc.replicas().filter((r) => r.index !== home).every((r) => r.state !== "healthy"), "the others to fail", 1000);
      assert.deepEqual([await svc.incr.route(), await svc.incr.route()], [3, 4]);
      assert.equal((await svc.stats.route()).replica, home);
    });
    await waitFor(() => svc.replicas().every((r) => r.state === "healthy"), "restarts");
    pidsOf(svc);
    // Explicit sessions: startSession() pins the rest of this async context.
    const id = svc.startSession();
    const first = (await svc.stats.route()).replica;
    for (let i = 0; i < 5; i++) assert.equal((await svc.stats.route()).replica, first);
    assert.equal(svc.replicas()[first]!.sessions, 1);
    svc.terminateSession(id);
    assert.equal(svc.replicas()[first]!.sessions, 0);
  });

  it("assigns new sessions to the least-loaded replica", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 0 }).asService();
    pidsOf(svc);
    let busy = -1;
    const load = svc.session(async () => {
      busy = (await svc.stats.route()).replica;
      await Promise.all(Array.from({ length: 5 }, () => svc.slowIncr.route(200)));
    });
    await sleep(60);
    const other = await svc.session(async () => (await svc.stats.route()).replica);
    assert.notEqual(other, busy);
    await load;
  });

  it("caps in-flight requests per replica under 1,000 concurrent calls", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, maxConcurrency: 4, healthCheckIntervalMs: 0 }).asService();
    pidsOf(svc);
    const calls = Array.from({ length: 1000 }, () => svc.slowIncr.route(2));
    await sleep(20);
    for (const r of svc.replicas()) assert.ok(r.inflight <= 4, `replica ${r.index} has ${r.inflight} in flight`);
    const values = await Promise.all(calls);
    assert.equal(values.length, 1000);
    const stats = await svc.stats.fanout();
    assert.equal(stats[0]!.count + stats[1]!.count, 1000);
    for (const s of stats) assert.ok(s.maxInflight <= 4 && s.maxInflight >= 2, `maxInflight ${s.maxInflight}`);
    assert.deepEqual(svc.replicas().map((r) => [r.inflight, r.queued]), [[0, 0], [0, 0]]);
  });

  it("restarts a replica that stops answering health checks", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 100, healthCheckTimeoutMs: 300 }).asService();
    const [pid0] = pidsOf(svc);
    process.kill(pid0!, "SIGSTOP"); // hung, not dead
    await waitFor(() => svc.replicas()[0]!.restarts === 1 && svc.replicas()[0]!.state === "healthy", "the hung replica to restart");
    assert.ok(!isAlive(pid0!));
    assert.deepEqual(await svc.incr.fanout(), [1, 1]);
    pidsOf(svc);
  });

  it("marks a replica unhealthy when its restarts keep failing; the others carry on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "actors-"));
    const marker = join(dir, "fail");
    try {
      await using svc = await Counter.options({ procs: 1, numReplicas: 2, maxRestarts: 1, healthCheckIntervalMs: 0 }).asService({
        failSetupIfExists: marker,
      });
      const [pid0] = pidsOf(svc);
      writeFileSync(marker, "");
      const errors: unknown[] = [];
      const origError = console.error;
      console.error = (...a: unknown[]) => errors.push(a);
      try {
        process.kill(pid0!, "SIGKILL");
        await waitFor(() => svc.replicas()[0]!.state === "unhealthy", "replica 0 to become unhealthy", 20_000); // two failed child starts: slow on a loaded machine
      } finally {
        console.error = origError;
      }
      assert.ok(errors.some((e) => /replica 0 is unhealthy after 2 failed restarts/.test(String((e as unknown[])[0]))), JSON.stringify(errors));
      assert.deepEqual(await Promise.all([svc.incr.route(), svc.incr.route()]), [1, 2]);
      assert.deepEqual(svc.replicas().map((r) => r.state), ["unhealthy", "healthy"]);
      pidsOf(svc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
