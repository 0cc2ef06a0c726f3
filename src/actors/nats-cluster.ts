/**
 * Controller side of multi-host placement. `NatsCluster.connect()` joins a NATS server, watches
 * host agents' heartbeats and sends its own (agents kill a silent controller's actors). Each
 * remote rank is a `NatsTransport`: calls go to the rank's host agent, which relays them to a
 * child process there. A host whose heartbeat stops for `hostTimeoutMs` counts as dead, and so do
 * all its ranks.
 *
 * The actor's module URL must name the same file on every host (same checkout path).
 */
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { connect, type NatsConnection } from "nats";
import { ActorDiedError, ActorError, ActorSetupError, ClusterError, HostsUnavailableError, SerializationError, UnknownEndpointError } from "./errors.ts";
import { addMetricSource, removeMetricSource } from "../observability/metric-sources.ts";
import type { MetricState } from "../observability/metrics.ts";
import { type ActorDied, type AgentReply, type AgentRequestBody, decode, encode, subjects } from "./nats-wire.ts";
import { describeUncloneable, fromWireError } from "./protocol.ts";
import type { RankSpec, RankTransport } from "./transport.ts";

export interface NatsClusterOptions {
  /** NATS server URL(s), e.g. "nats://10.0.0.1:4222". */
  servers: string | string[];
  /** Wait until this many host agents are seen. @default 1 */
  minHosts?: number;
  /** How long to wait for them. @default 10000 */
  timeoutMs?: number;
  /** A host silent this long is dead. @default 1000 */
  hostTimeoutMs?: number;
  /** @default 200 */
  heartbeatMs?: number;
}

interface PendingReply {
  host: string;
  resolve: (r: AgentReply) => void;
  reject: (e: Error) => void;
}

export class NatsCluster {
  readonly id = randomUUID();
  private readonly lastBeat = new Map<string, number>();
  private readonly deadHosts = new Set<string>();
  private readonly pending = new Map<number, PendingReply>();
  private readonly deathListeners = new Map<string, (reason: string) => void>();
  private readonly hostOf = new Map<string, string>();
  private nextCallId = 1;
  private readonly inbox: string;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatThread: Worker | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsClusterOptions,
  ) {
    this.inbox = `forge.controller.${this.id}.inbox`;
  }

  static async connect(options: NatsClusterOptions): Promise<NatsCluster> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.servers, name: "forge-controller", timeout: timeoutMs });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ClusterError(`cannot reach the NATS server at ${[options.servers].flat().join(", ")} within ${timeoutMs} ms (${why}); start one there with \`nats-server -a 0.0.0.0 -p 4222\``, { cause: err });
    }
    const cluster = new NatsCluster(nc, options);
    cluster.listen();
    const want = options.minHosts ?? 1;
    const deadline = Date.now() + timeoutMs;
    while (cluster.hosts().length < want) {
      if (Date.now() > deadline) {
        await cluster.close();
        throw new ClusterError(`${cluster.hosts().length} host agents answered within ${timeoutMs} ms, ${want} needed (start them with \`forge agent --nats URL --host NAME\`)`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return cluster;
  }

  /**
   * Waits until every named host agent is alive; after `timeoutMs` a `HostsUnavailableError`
   * names the missing ones and the live agents.
   */
  async waitForHosts(names: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.hosts();
      const missing = names.filter((h) => !live.includes(h));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new HostsUnavailableError(missing, live, 1);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private listen(): void {
    this.nc.subscribe(subjects.anyAgentHeartbeat, {
      callback: (err, msg) => {
        if (err) return;
        const host = msg.subject.split(".")[2]!;
        if (!this.deadHosts.has(host)) this.lastBeat.set(host, Date.now());
      },
    });
    this.nc.subscribe(subjects.anyAgentDied, {
      callback: (err, msg) => {
        const died = err ? undefined : tryDecode<ActorDied>(msg.data);
        if (died) this.actorDied(died.actorId, died.reason);
      },
    });
    this.nc.subscribe(this.inbox, {
      callback: (err, msg) => {
        // An empty message is the server's "no responders" status for a request to an agent that
        // is gone (it names no call): the host's heartbeat timeout fails that call instead.
        const reply = err ? undefined : tryDecode<AgentReply>(msg.data);
        if (reply === undefined) return;
        const p = this.pending.get(reply.callId);
        this.pending.delete(reply.callId);
        p?.resolve(reply);
      },
    });
    const hostTimeoutMs = this.options.hostTimeoutMs ?? 1000;
    const tickMs = Math.min(this.options.heartbeatMs ?? 200, hostTimeoutMs / 4);
    let lastTick = Date.now();
    this.timer = setInterval(() => {
      this.nc.publish(subjects.controllerHeartbeat(this.id), new Uint8Array());
      const now = Date.now();
      // After a stall of this thread (a long synchronous train step) the agents' heartbeats are
      // still unread in the socket: judge them on the next tick, once they have been read.
      const stalled = now - lastTick > 2 * tickMs;
      lastTick = now;
      if (stalled) return;
      for (const [host, t] of this.lastBeat) if (now - t > hostTimeoutMs) this.hostDied(host, `host ${host} stopped sending heartbeats`);
    }, tickMs).unref();
    this.nc.publish(subjects.controllerHeartbeat(this.id), new Uint8Array());
    this.heartbeatThread = startHeartbeatThread(this.options.servers, subjects.controllerHeartbeat(this.id), this.options.heartbeatMs ?? 200);
  }

  private actorDied(actorId: string, reason: string): void {
    const listener = this.deathListeners.get(actorId);
    this.deathListeners.delete(actorId);
    this.hostOf.delete(actorId);
    listener?.(reason);
  }

  private hostDied(host: string, reason: string): void {
    this.lastBeat.delete(host);
    this.deadHosts.add(host);
    const err = new Error(reason);
    for (const [id, p] of this.pending) {
      if (p.host !== host) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    for (const [actorId, h] of [...this.hostOf]) if (h === host) this.actorDied(actorId, reason);
  }

  /** Host agents alive now, sorted by name. */
  hosts(): string[] {
    return [...this.lastBeat.keys()].sort();
  }

  /** Send a request to a host agent; rejects if the host dies first. */
  request(host: string, body: AgentRequestBody): Promise<AgentReply> {
    if (!this.lastBeat.has(host)) return Promise.reject(new Error(`host ${host} is not alive`));
    const callId = this.nextCallId++;
    const data = encode({ ...body, callId, controller: this.id }); // throws when not cloneable
    return new Promise((resolve, reject) => {
      this.pending.set(callId, { host, resolve, reject });
      this.nc.publish(subjects.agentRpc(host), data, { reply: this.inbox });
    });
  }

  /** Internal: watch one remote actor. */
  watch(actorId: string, host: string, onDeath: (reason: string) => void): void {
    this.hostOf.set(actorId, host);
    this.deathListeners.set(actorId, onDeath);
  }

  unwatch(actorId: string): void {
    this.hostOf.delete(actorId);
    this.deathListeners.delete(actorId);
  }

  /** Stop heartbeats and disconnect (agents then reap any actor still running for us). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.heartbeatThread?.terminate();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new Error("NatsCluster closed"));
    }
    if (!this.nc.isClosed()) await this.nc.close();
  }
}

/**
 * The controller's heartbeat from a thread of its own, on its own connection: a long synchronous
 * stretch of the main thread (a train step of a large model) must not look like a dead controller
 * to the agents, which would kill its actors. The thread ends with the process.
 */
function startHeartbeatThread(servers: string | string[], subject: string, everyMs: number): Worker {
  const source = `
    const { workerData } = require("node:worker_threads");
    const { connect } = require(workerData.nats);
    connect({ servers: workerData.servers, name: "forge-controller-heartbeat" }).then((nc) => {
      const beat = () => nc.publish(workerData.subject, new Uint8Array());
      beat();
      setInterval(beat, workerData.everyMs);
    }, () => {});`;
  const nats = createRequire(import.meta.url).resolve("nats");
  const worker = new Worker(source, { eval: true, workerData: { nats, servers, subject, everyMs } });
  worker.unref();
  worker.on("error", () => {}); // the main thread's own heartbeat still runs
  return worker;
}

/** `decode`, or undefined for a message that is not ours (a throw here would close the connection). */
function tryDecode<T>(data: Uint8Array): T | undefined {
  if (data.length === 0) return undefined;
  try {
    return decode<T>(data);
  } catch {
    return undefined;
  }
}

/** A rank in a child process on another host, reached through that host's agent. */
export class NatsTransport implements RankTransport {
  private actorId: string | undefined;
  private remotePid: number | undefined;
  private dead = false;
  private intentional = false;
  private readonly listeners: Array<(reason: string) => void> = [];

  constructor(
    private readonly spec: RankSpec & { withGpus: boolean },
    private readonly cluster: NatsCluster,
    readonly host: string,
  ) {}

  get rank(): number {
    return this.spec.context.rank;
  }
  /** Process id on the remote host. */
  get pid(): number | undefined {
    return this.remotePid;
  }
  get alive(): boolean {
    return this.actorId !== undefined && !this.dead;
  }

  private died(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    removeMetricSource(this);
    if (!this.intentional) for (const l of this.listeners) l(reason);
  }

  async start(): Promise<void> {
    const { module, exportName, args, context, env, setupTimeoutMs, withGpus } = this.spec;
    const reply = await this.cluster
      .request(this.host, { t: "spawn", module: module!, exportName: exportName!, args, context, env: env ?? {}, setupTimeoutMs, withGpus })
      .catch((err: Error) => ({ callId: 0, ok: false as const, kind: "setup" as const, error: { name: err.name, message: err.message } }));
    if (!reply.ok) throw new ActorSetupError(context.actorName, context.rank, fromWireError(reply.error));
    this.actorId = reply.actorId!;
    this.remotePid = reply.pid;
    this.spec.context.gpus = reply.gpus ?? [];
    this.cluster.watch(this.actorId, this.host, (reason) => this.died(reason));
    addMetricSource(this);
  }

  private diedError(reason: string): ActorDiedError {
    return new ActorDiedError(this.spec.context.actorName, this.rank, this.pid, `${reason} (on host ${this.host})`);
  }

  async call(endpoint: string, args: unknown[]): Promise<unknown> {
    const { actorName } = this.spec.context;
    if (!this.alive) throw this.diedError("actor is not running");
    let reply: AgentReply;
    try {
      reply = await this.cluster.request(this.host, { t: "call", actorId: this.actorId!, endpoint, args });
    } catch (err) {
      if (this.alive && err instanceof Error && /could not be cloned/.test(err.message)) {
        throw new SerializationError(actorName, endpoint, describeUncloneable(args), { cause: err });
      }
      throw this.diedError(err instanceof Error ? err.message : String(err));
    }
    if (reply.ok) return reply.value;
    switch (reply.kind) {
      case "user":
        throw new ActorError({ actorName, endpoint, rank: this.rank, pid: this.pid }, fromWireError(reply.error));
      case "unknownEndpoint":
        throw new UnknownEndpointError(actorName, endpoint, reply.known ?? []);
      case "resultNotCloneable":
        throw new SerializationError(actorName, endpoint, "the result", { cause: fromWireError(reply.error) });
      default:
        throw this.diedError(reply.error.message);
    }
  }

  async ping(timeoutMs: number): Promise<boolean> {
    if (!this.alive) return false;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      this.cluster.request(this.host, { t: "ping", actorId: this.actorId!, timeoutMs }).then(
        (r) => r.ok && r.value === true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return ok;
  }

  async drainMetrics(timeoutMs: number): Promise<MetricState[]> {
    if (!this.alive) return [];
    let timer: NodeJS.Timeout | undefined;
    const states = await Promise.race([
      this.cluster.request(this.host, { t: "metrics", actorId: this.actorId! }).then(
        (r) => (r.ok ? (r.value as MetricState[]) : []),
        () => [],
      ),
      new Promise<MetricState[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return states;
  }

  private async end(kind: "stop" | "kill"): Promise<void> {
    this.intentional = true;
    if (this.actorId === undefined || this.dead) return;
    const id = this.actorId;
    this.cluster.unwatch(id);
    await this.cluster.request(this.host, { t: kind, actorId: id }).catch(() => undefined);
    this.died("stopped");
  }

  stop(): Promise<void> {
    return this.end("stop");
  }

  kill(): Promise<void> {
    return this.end("kill");
  }

  onDeath(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }
}
