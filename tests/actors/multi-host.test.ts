/**
 * Multi-host placement over NATS, with two host agents on this machine standing in for two hosts.
 * Needs Debian's `nats-server` on PATH; skipped (with a note) when it is missing.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import {
  ActorDiedError,
  ActorError,
  ActorOptionsError,
  HostsUnavailableError,
  MemoryBackend,
  MetricLogger,
  NatsCluster,
  SerializationError,
  type SupervisionEvent,
  UnknownEndpointError,
} from "../../src/actors/index.ts";
import { Counter } from "./fixtures/counter.ts";
import { isAlive, sleep, waitFor } from "./fixtures/helpers.ts";
import { startNats } from "../fixtures/nats-server.ts";

const haveNats = spawnSync("nats-server", ["--version"]).status === 0;
const AGENT = fileURLToPath(new URL("../../src/actors/host-agent-cli.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

function startAgent(url: string, host: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", TSX, AGENT, "--servers", url, "--host", host], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    proc.stdout!.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`agent ${host} exited with ${code}`)));
  });
}

describe("multi-host placement over NATS", { skip: haveNats ? false : "nats-server not installed (apt-get install nats-server)" }, () => {
  let nats: { proc: ChildProcess; url: string };
  const agents = new Map<string, ChildProcess>();
  const seen = new Set<number>();
  let cluster: NatsCluster;

  before(async () => {
    nats = await startNats();
    for (const host of ["hostA", "hostB"]) agents.set(host, await startAgent(nats.url, host));
    cluster = await NatsCluster.connect({ servers: nats.url, minHosts: 2 });
  });

  after(async () => {
    await cluster?.close();
    for (const a of agents.values()) a.kill("SIGTERM");
    await waitFor(() => [...agents.values()].every((a) => a.exitCode !== null || a.signalCode !== null), "agents to exit");
    nats?.proc.kill("SIGTERM");
    await waitFor(() => [...seen].every((p) => !isAlive(p)), "remote actor processes to exit", 3000);
  });

  it("places ranks on both hosts and calls them with every adverb", async () => {
    assert.deepEqual(cluster.hosts(), ["hostA", "hostB"]);
    const mesh = await Counter.options({ cluster, hosts: 2, procs: 1 }).asActor({ start: 1 });
    for (const p of mesh.pids) seen.add(p!);
    assert.equal(mesh.size, 2);
    assert.deepEqual(await mesh.incr.call(2), [3, 3]);
    const stats = await mesh.stats.call();
    assert.deepEqual(stats.map((s) => s.rank), [0, 1]);
    assert.deepEqual(stats.map((s) => s.pid), mesh.pids);
    assert.ok(mesh.pids.every((p) => isAlive(p!)));
    const streamed = [];
    for await (const x of mesh.value.stream()) streamed.push(x.rank);
    assert.deepEqual(streamed.sort(), [0, 1]);
    const err = await mesh.failMe.choose("far away").catch((e: unknown) => e);
    assert.ok(err instanceof ActorError);
    assert.match(err.stack ?? "", /\[remote\] TypeError: far away/);
    await assert.rejects((mesh as unknown as Record<string, { call(): Promise<unknown> }>).nope!.call(), UnknownEndpointError);
    await assert.rejects(mesh.echo.choose(() => 1), SerializationError);
    // Metrics recorded on other hosts reach flush().
    const memory = new MemoryBackend();
    await mesh.record.call(4);
    const out = await new MetricLogger({ backends: [memory] }).flush(1);
    assert.equal(out["counter/total"], 8);
    await mesh.shutdown();
    await waitFor(() => mesh.pids.every((p) => !isAlive(p!)), "actors to stop");
  });

  it("detects a SIGKILLed remote actor within a second", async () => {
    const mesh = await Counter.options({ cluster, procs: 1 }).asActor();
    const pid = mesh.pids[0]!;
    seen.add(pid);
    const events: SupervisionEvent[] = [];
    mesh.onFailure((e) => events.push(e));
    const pending = mesh.slowIncr.callOne(5000);
    await sleep(50);
    const t0 = Date.now();
    process.kill(pid, "SIGKILL");
    await assert.rejects(pending, ActorDiedError);
    await waitFor(() => events.length === 1, "supervision event", 1000);
    assert.ok(Date.now() - t0 < 1000);
    await mesh.shutdown();
  });

  it("a controller whose main thread is busy for 2.5 s (a long train step) keeps its remote actors and hosts", async () => {
    const mesh = await Counter.options({ cluster, hosts: 2, procs: 1 }).asActor();
    for (const p of mesh.pids) seen.add(p!);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500); // longer than the agents' 1.5 s and the hosts' 1 s timeouts
    await sleep(100);
    assert.deepEqual(cluster.hosts(), ["hostA", "hostB"]);
    assert.ok(mesh.pids.every((p) => isAlive(p!)), "the agents did not reap the busy controller's actors");
    assert.deepEqual(await mesh.incr.call(1), [1, 1]);
    await mesh.shutdown();
  });

  it("reaps a silent controller's actors", async () => {
    const other = await NatsCluster.connect({ servers: nats.url, minHosts: 2 });
    const mesh = await Counter.options({ cluster: other, procs: 1 }).asActor();
    const pid = mesh.pids[0]!;
    seen.add(pid);
    await other.close(); // the controller goes silent without stopping its actors
    await waitFor(() => !isAlive(pid), "the agent to kill the orphaned actor", 4000);
  });

  it("named hosts: replica i on hostNames[i % n]; a dead name is skipped; none alive names the live agents", async () => {
    const svc = await Counter.options({ cluster, procs: 1, numReplicas: 3, hostNames: ["hostB", "hostA"], healthCheckIntervalMs: 0 }).asService();
    const stats = await svc.stats.fanout();
    for (const s of stats) seen.add(s.pid);
    assert.deepEqual(stats.map((s) => s.host), ["hostB", "hostA", "hostB"]);
    await svc.shutdown();
    const skip = await Counter.options({ cluster, procs: 1, hostNames: ["hostGone", "hostA"] }).asActor();
    seen.add(skip.pids[0]!);
    assert.equal((await skip.stats.callOne()).host, "hostA");
    await skip.shutdown();
    await assert.rejects(
      Counter.options({ cluster, procs: 1, hostNames: ["hostC", "hostD"] }).asActor(),
      (e: unknown) => e instanceof HostsUnavailableError && /none of the host agents \[hostC, hostD\] is alive .*live agents: hostA, hostB/.test(e.message),
    );
    await assert.rejects(cluster.waitForHosts(["hostA", "hostC"], 100), /hostC.*live agents: hostA, hostB/);
    await cluster.waitForHosts(["hostA", "hostB"], 100);
    assert.throws(() => Counter.options({ procs: 1, hostNames: ["hostA"] }), ActorOptionsError);
  });

  it("a service survives the loss of a whole host", async () => {
    const svc = await Counter.options({ cluster, procs: 1, numReplicas: 2, healthCheckIntervalMs: 0 }).asService();
    const pids = svc.replicas().map((r) => r.pids[0]!);
    for (const p of pids) seen.add(p);
    const hosts = (await svc.stats.fanout()).map((s) => s.pid);
    assert.deepEqual(hosts, pids);
    const calls = Array.from({ length: 4 }, () => svc.slowIncr.route(300));
    await sleep(80);
    // Kill host A's agent outright; its actor process exits when its parent goes.
    agents.get("hostA")!.kill("SIGKILL");
    const values = await Promise.all(calls);
    assert.deepEqual([...values].sort(), [1, 2, 3, 4]);
    await waitFor(() => svc.replicas().every((r) => r.state === "healthy") && svc.replicas().some((r) => r.restarts === 1), "the replica to move to host B");
    // Replica 0 was placed on host A; its process exits when its agent (parent) dies.
    await waitFor(() => !isAlive(pids[0]!), "host A's actor to exit", 2000);
    assert.ok(isAlive(pids[1]!));
    for (const r of svc.replicas()) seen.add(r.pids[0]!);
    assert.deepEqual(cluster.hosts(), ["hostB"]);
    await svc.shutdown();
  });
});
