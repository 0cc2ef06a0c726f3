import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ActorDiedError, ServiceUnavailableError, liveChildPids } from "../../src/actors/index.ts";
import { drainMetrics, mergeMetricStates, reduceMetricState } from "../../src/observability/metrics.ts";
import { Counter } from "./fixtures/counter.ts";
import { assertNoOrphans, sleep, waitFor } from "./fixtures/helpers.ts";

/** Every pid any test saw, checked at the end. */
const seen = new Set<number>();
function pidsOf(svc: { replicas(): { pids: (number | undefined)[] }[] }): number[] {
  const pids = svc.replicas().flatMap((r) => r.pids.filter((p): p is number => p !== undefined));
  for (const p of pids) seen.add(p);
  return pids;
}

function restartsMetric(service: string): number | undefined {
  const state = mergeMetricStates(drainMetrics()).get(`actors/restarts/${service}`);
  return state === undefined ? undefined : (reduceMetricState(state) as number);
}

describe("replica failure is a first-class event", () => {
  after(() => assertNoOrphans(seen));

  it("runs onRestart before a restarted replica takes work, logs the restart and counts it", async () => {
    drainMetrics();
    const lines: string[] = [];
    let hooked = 0;
    await using svc = await Counter.options({
      procs: 1,
      numReplicas: 2,
      healthCheckIntervalMs: 0,
      meshName: "HookedCounter",
      log: (l) => lines.push(l),
      // Stands in for "load the current weights": the new process starts at 0, the hook sets 40.
      onRestart: async (r) => {
        hooked++;
        assert.equal(r.index, 0);
        await r.call("incr", 40);
      },
    }).asService();
    const [pid0] = pidsOf(svc);
    process.kill(pid0!, "SIGKILL");
    await waitFor(() => svc.replicas()[0]!.state === "healthy" && svc.replicas()[0]!.restarts === 1, "replica 0 to restart", 20_000);
    assert.equal(hooked, 1);
    assert.deepEqual(await svc.value.fanout(), [40, 0], "the restarted replica was brought up to date before it became routable");
    assert.equal(restartsMetric("HookedCounter"), 1);
    assert.ok(lines.some((l) => /service HookedCounter: replica 0 failed \(.*SIGKILL.*\); restarting it/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /service HookedCounter: replica 0 restarted \(pid \d+; restart 1 of this replica\)/.test(l)), lines.join("\n"));
    pidsOf(svc);
  });

  it("a failing onRestart is a failed restart: the replica ends unhealthy, the others carry on", async () => {
    const lines: string[] = [];
    await using svc = await Counter.options({
      procs: 1,
      numReplicas: 2,
      maxRestarts: 0,
      healthCheckIntervalMs: 0,
      log: (l) => lines.push(l),
      onRestart: async () => {
        throw new Error("no weights to load");
      },
    }).asService();
    const [pid0] = pidsOf(svc);
    process.kill(pid0!, "SIGKILL");
    await waitFor(() => svc.replicas()[0]!.state === "unhealthy", "replica 0 to become unhealthy", 20_000);
    assert.ok(lines.some((l) => /replica 0 is unhealthy after 1 failed restarts: Error: no weights to load/.test(l)), lines.join("\n"));
    assert.deepEqual(await svc.incr.fanout(), [1], "fanout goes on without the unhealthy replica");
    pidsOf(svc);
  });

  it("shutting down while a replica restarts stops the new process too, before shutdown returns", async () => {
    let hookStarted = false;
    const svc = await Counter.options({
      procs: 1,
      numReplicas: 2,
      healthCheckIntervalMs: 0,
      log: () => undefined,
      // A slow "load the weights": shutdown arrives while the restarted process is not routable yet.
      onRestart: async (r) => {
        hookStarted = true;
        await r.call("slowIncr", 30_000);
      },
    }).asService();
    const [pid0] = pidsOf(svc);
    process.kill(pid0!, "SIGKILL");
    await waitFor(() => hookStarted, "the restart hook to start", 20_000);
    const t0 = Date.now();
    await svc.shutdown();
    assert.ok(Date.now() - t0 < 10_000, `shutdown took ${Date.now() - t0} ms`);
    assert.deepEqual(liveChildPids(), [], "the restarted process outlived shutdown");
    assert.deepEqual(svc.replicas().map((r) => r.state), ["stopped", "stopped"]);
  });

  it("fanout over a replica that dies mid-call retries it once restarted instead of failing", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 0, log: () => undefined }).asService();
    const [pid0] = pidsOf(svc);
    const call = svc.slowIncr.fanout(300);
    await sleep(80);
    process.kill(pid0!, "SIGKILL");
    // Replica 0 lost its first increment with its process; the retry on the new process made it 1.
    assert.deepEqual(await call, [1, 1]);
    assert.equal(svc.replicas()[0]!.restarts, 1);
    pidsOf(svc);
  });

  it("does not retry a non-idempotent endpoint whose replica died", async () => {
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, healthCheckIntervalMs: 0, idempotent: ["value", "stats"], log: () => undefined }).asService();
    const [pid0] = pidsOf(svc);
    const viaRoute = svc.slowIncr.route(300); // round-robin: replica 0
    const viaFanout = svc.slowIncr.fanout(300);
    await sleep(80);
    process.kill(pid0!, "SIGKILL");
    await assert.rejects(viaRoute, ActorDiedError);
    await assert.rejects(viaFanout, ActorDiedError);
    await waitFor(() => svc.replicas()[0]!.state === "healthy", "replica 0 to restart", 20_000);
    pidsOf(svc);
  });

  it("with restarts used up, killing every replica fails calls at once with a clear error", async () => {
    const lines: string[] = [];
    await using svc = await Counter.options({ procs: 1, numReplicas: 2, restartLimit: 0, healthCheckIntervalMs: 0, log: (l) => lines.push(l) }).asService();
    const pids = pidsOf(svc);
    const inflight = svc.slowIncr.route(2000);
    await sleep(80);
    for (const p of pids) process.kill(p, "SIGKILL");
    const t0 = Date.now();
    await assert.rejects(inflight, (e: unknown) => e instanceof ServiceUnavailableError && /every replica is unhealthy/.test(e.message));
    await assert.rejects(svc.value.fanout(), ServiceUnavailableError);
    assert.ok(Date.now() - t0 < 3000, `failed after ${Date.now() - t0} ms, not at once`);
    assert.deepEqual(svc.replicas().map((r) => r.state), ["unhealthy", "unhealthy"]);
    assert.ok(lines.some((l) => /restart limit \(0\) reached, the replica is unhealthy/.test(l)), lines.join("\n"));
  });
});
