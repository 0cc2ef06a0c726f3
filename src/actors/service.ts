/**
 * Services: `numReplicas` copies of an actor mesh behind one handle (`service-interface.ts`).
 *
 * A replica whose process dies (or fails a health check) goes healthy → recovering → healthy
 * again after a restart (and the `onRestart` hook, which brings it up to date before it takes
 * work), or → unhealthy when restarts fail or `restartLimit` is spent. Every death and restart is
 * a console line and counts in the `actors/restarts/<service>` metric. A call in flight on a dead
 * replica is retried (idempotent endpoints only, at most `retries` times): `route` on another
 * healthy replica, `fanout` on the same replica once restarted. An endpoint that throws is not
 * retried and does not hurt the replica. Queues live in `replica.ts`, the choice of
 * replica in `router.ts`, the session of an async context in `sessions.ts`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { recordMetric } from "../observability/metrics.ts";
import type { ActorLike } from "./endpoint.ts";
import { ActorDiedError, ServiceUnavailableError, UnknownEndpointError } from "./errors.ts";
import type { MeshImpl, SupervisionEvent } from "./mesh.ts";
import { Replica } from "./replica.ts";
import { LeastLoadedRouter, RoundRobinRouter, SessionRouter } from "./router.ts";
import type { ReplicaStatus, Service, ServiceControl, ServiceEndpoint, ServiceOptions } from "./service-interface.ts";
import { SessionScope } from "./sessions.ts";

export class ServiceImpl {
  private readonly replicaList: Replica[];
  private readonly sessionScope = new SessionScope();
  private readonly roundRobin = new RoundRobinRouter();
  private readonly sticky = new SessionRouter<Replica>(new LeastLoadedRouter());
  private stopped = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private changeWaiters: Array<() => void> = [];
  /** Restarts in flight, and the meshes they started: `shutdown` stops both, so no process outlives it. */
  private readonly restarting = new Set<Promise<void>>();
  private readonly pendingMeshes = new Set<MeshImpl>();
  private readonly stopping = new AbortController();
  private readonly retries: number;
  private readonly maxRestarts: number;
  private readonly unavailableTimeoutMs: number;
  private readonly healthCheckTimeoutMs: number;
  private readonly idempotent: ReadonlySet<string>;
  private readonly restartLimit: number;
  private readonly log: (line: string) => void;

  constructor(
    readonly name: string,
    private readonly endpoints: readonly string[],
    private readonly spawn: (replica: number) => Promise<MeshImpl>,
    private readonly options: ServiceOptions,
  ) {
    const cap = options.maxConcurrency ?? 10;
    const wake = () => {
      for (const w of this.changeWaiters.splice(0)) w();
    };
    this.replicaList = Array.from({ length: options.numReplicas ?? 1 }, (_, i) => new Replica(i, cap, wake));
    this.retries = options.retries ?? 2;
    this.maxRestarts = options.maxRestarts ?? 3;
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? 30_000;
    this.healthCheckTimeoutMs = options.healthCheckTimeoutMs ?? 5000;
    this.idempotent = new Set(options.idempotent ?? endpoints);
    this.restartLimit = options.restartLimit ?? Infinity;
    this.log = options.log ?? ((line) => console.error(line));
  }

  async start(): Promise<void> {
    const results = await Promise.allSettled(this.replicaList.map((r) => this.spawn(r.index)));
    const failed = results.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) {
      this.stopped = true;
      await Promise.all(results.map((s) => (s.status === "fulfilled" ? s.value.shutdown() : undefined)));
      throw failed.reason;
    }
    results.forEach((s, i) => this.install(this.replicaList[i]!, (s as PromiseFulfilledResult<MeshImpl>).value));
    const interval = this.options.healthCheckIntervalMs ?? 2000;
    if (interval > 0) this.healthTimer = setInterval(() => void this.healthCheck(), interval).unref();
  }

  private install(replica: Replica, mesh: MeshImpl): void {
    replica.mesh = mesh;
    mesh.owner = (event) => this.onReplicaFailure(replica, mesh, event);
    replica.state = "healthy";
  }

  private onReplicaFailure(replica: Replica, mesh: MeshImpl, event: SupervisionEvent): void {
    if (this.stopped || replica.mesh !== mesh || replica.state !== "healthy") return; // stale or already handled
    const spent = replica.restarts >= this.restartLimit;
    const what = `service ${this.name}: replica ${replica.index} failed (${event.error.message})`;
    replica.rejectQueued(event.error);
    void mesh.kill(); // the rest of a multi-rank replica is useless without the dead rank
    if (spent) {
      this.log(`${what}; restart limit (${this.restartLimit}) reached, the replica is unhealthy`);
      replica.state = "unhealthy";
      return;
    }
    this.log(`${what}; restarting it`);
    replica.state = "recovering";
    const restart = this.restart(replica).finally(() => this.restarting.delete(restart));
    this.restarting.add(restart);
  }

  private async restart(replica: Replica): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      let mesh: MeshImpl | undefined;
      try {
        mesh = await this.spawn(replica.index);
        this.pendingMeshes.add(mesh);
        if (this.stopped) return void (await mesh.shutdown());
        await this.runRestartHook(replica, mesh);
        if (this.stopped) return void (await mesh.shutdown());
        replica.restarts++;
        recordMetric(`actors/restarts/${this.name}`, 1, "sum");
        const pids = mesh.ranks.map((r) => r.pid ?? "in-process").join(", ");
        this.log(`service ${this.name}: replica ${replica.index} restarted (pid ${pids}; restart ${replica.restarts} of this replica)`);
        this.install(replica, mesh);
        return;
      } catch (err) {
        if (this.stopped) return; // shutdown stopped the attempt: not a failure
        if (attempt > this.maxRestarts) {
          this.log(`service ${this.name}: replica ${replica.index} is unhealthy after ${attempt} failed restarts: ${(err as Error)?.stack ?? err}`);
          replica.state = "unhealthy";
          return;
        }
        // Backoff before the next attempt; shutdown cuts it short.
        await sleep(Math.min(100 * 2 ** attempt, 5000), undefined, { signal: this.stopping.signal, ref: false }).catch(() => undefined);
      } finally {
        if (mesh !== undefined) this.pendingMeshes.delete(mesh);
      }
    }
  }

  /** `onRestart` before the replica is routable; a death meanwhile just fails the hook (and so the attempt). */
  private async runRestartHook(replica: Replica, mesh: MeshImpl): Promise<void> {
    const hook = this.options.onRestart;
    if (hook === undefined) return;
    mesh.owner = () => undefined; // not installed yet: the hook's call rejects instead
    try {
      await hook({
        serviceName: this.name,
        index: replica.index,
        restarts: replica.restarts + 1,
        call: (endpoint, ...args) => ServiceImpl.callReplica(mesh, endpoint, args),
      });
    } catch (err) {
      await mesh.kill();
      throw err;
    }
  }

  private async healthCheck(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      await Promise.all(
        this.replicaList.map(async (replica) => {
          const mesh = replica.mesh;
          if (replica.state !== "healthy" || mesh === undefined) return;
          const oks = await Promise.all(mesh.ranks.map((r) => r.ping(this.healthCheckTimeoutMs)));
          const bad = oks.indexOf(false);
          if (bad !== -1) {
            const r = mesh.ranks[bad]!;
            const error = new ActorDiedError(this.name, r.rank, r.pid, `no answer to a health check within ${this.healthCheckTimeoutMs} ms`);
            this.onReplicaFailure(replica, mesh, { actorName: this.name, rank: r.rank, pid: r.pid, error });
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms); // ref'd: a caller is waiting for a replica
      this.changeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async healthyReplicas(): Promise<Replica[]> {
    const deadline = Date.now() + this.unavailableTimeoutMs;
    for (;;) {
      if (this.stopped) throw new ServiceUnavailableError(this.name, "the service was shut down");
      const healthy = this.replicaList.filter((r) => r.state === "healthy");
      if (healthy.length > 0) return healthy;
      if (this.replicaList.every((r) => r.state === "unhealthy" || r.state === "stopped")) {
        throw new ServiceUnavailableError(this.name, "every replica is unhealthy (restarts exhausted)");
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new ServiceUnavailableError(this.name, `no healthy replica within ${this.unavailableTimeoutMs} ms`);
      await this.waitForChange(left);
    }
  }

  private async pick(sessionId: string | undefined): Promise<Replica> {
    const healthy = await this.healthyReplicas();
    return sessionId === undefined ? this.roundRobin.choose(healthy) : this.sticky.choose(healthy, sessionId);
  }

  private check(endpoint: string): void {
    if (!this.endpoints.includes(endpoint)) throw new UnknownEndpointError(this.name, endpoint, this.endpoints);
  }

  private static callReplica(mesh: MeshImpl, endpoint: string, args: unknown[]): Promise<unknown> {
    // A multi-rank replica runs SPMD: every rank gets the call; rank 0 answers.
    return mesh.ranks.length === 1 ? mesh.callRank(0, endpoint, args) : mesh.callAll(endpoint, args).then((v) => v[0]);
  }

  async route(endpoint: string, args: unknown[]): Promise<unknown> {
    this.check(endpoint);
    const sessionId = this.sessionScope.current();
    for (let attempt = 0; ; attempt++) {
      const replica = await this.pick(sessionId);
      try {
        return await this.callOn(replica, endpoint, args);
      } catch (err) {
        if (!this.retryable(err, endpoint) || attempt >= this.retries) throw err;
      }
    }
  }

  /**
   * A call on `replica`. A call that finds its process dead (e.g. `write EPIPE`) fails the replica
   * at once: its exit may not have been noticed yet, and a retry must not pick it again.
   */
  private async callOn(replica: Replica, endpoint: string, args: unknown[]): Promise<unknown> {
    let used: MeshImpl | undefined;
    try {
      return await replica.run(this.name, (mesh) => ServiceImpl.callReplica((used = mesh), endpoint, args));
    } catch (err) {
      if (err instanceof ActorDiedError && used !== undefined) {
        this.onReplicaFailure(replica, used, { actorName: this.name, rank: err.rank, pid: err.pid, error: err });
      }
      throw err;
    }
  }

  private retryable(err: unknown, endpoint: string): boolean {
    return err instanceof ActorDiedError && !this.stopped && this.idempotent.has(endpoint);
  }

  async fanout(endpoint: string, args: unknown[]): Promise<unknown[]> {
    this.check(endpoint);
    const healthy = await this.healthyReplicas();
    const values = await Promise.all(healthy.map((r) => this.callUntilDone(r, endpoint, args)));
    const answered = values.filter((v): v is { value: unknown } => v !== undefined);
    if (answered.length === 0) throw new ServiceUnavailableError(this.name, `every replica failed during ${endpoint} fanout (restarts exhausted)`);
    return answered.map((v) => v.value);
  }

  /**
   * One replica's part of a fanout: retried on the same replica once it is restarted (its restart
   * hook has brought it up to date; the call is idempotent). Undefined when the replica ended
   * unhealthy: it takes no more work, so the fanout goes on without it.
   */
  private async callUntilDone(replica: Replica, endpoint: string, args: unknown[]): Promise<{ value: unknown } | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { value: await this.callOn(replica, endpoint, args) };
      } catch (err) {
        if (!this.retryable(err, endpoint) || attempt >= this.retries) throw err;
      }
      const deadline = Date.now() + this.unavailableTimeoutMs;
      for (;;) {
        if (this.stopped) throw new ServiceUnavailableError(this.name, "the service was shut down");
        if (replica.state === "healthy") break;
        if (replica.state === "unhealthy" || replica.state === "stopped") return undefined;
        const left = deadline - Date.now();
        if (left <= 0) throw new ServiceUnavailableError(this.name, `replica ${replica.index} was not back within ${this.unavailableTimeoutMs} ms for ${endpoint} fanout`);
        await this.waitForChange(left);
      }
    }
  }

  startSession(): string {
    return this.sessionScope.enter();
  }

  terminateSession(id = this.sessionScope.current()): void {
    if (id === undefined) return;
    this.sticky.release(id);
    this.sessionScope.leave(id);
  }

  session<R>(fn: () => Promise<R>): Promise<R> {
    return this.sessionScope.runNew(fn, (id) => this.terminateSession(id));
  }

  withSession<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.sessionScope.runIn(id, fn);
  }

  replicas(): ReplicaStatus[] {
    return this.replicaList.map((r) => r.status());
  }

  async shutdown(): Promise<void> {
    if (this.stopped && this.replicaList.every((r) => r.state === "stopped")) return;
    this.stopped = true;
    this.stopping.abort();
    clearInterval(this.healthTimer);
    const err = new ServiceUnavailableError(this.name, "the service was shut down");
    await Promise.all([
      ...this.replicaList.map(async (r) => {
        r.rejectQueued(err);
        await r.mesh?.shutdown();
        r.state = "stopped";
      }),
      // A restart's mesh is not installed yet: stop it here, or an `onRestart` hook could hold it open.
      ...[...this.pendingMeshes].map((m) => m.shutdown()),
    ]);
    await Promise.all(this.restarting);
  }

  handle<T extends ActorLike>(): Service<T> {
    const svc = this;
    const control: ServiceControl = {
      name: this.name,
      startSession: () => svc.startSession(),
      terminateSession: (id) => svc.terminateSession(id),
      session: (fn) => svc.session(fn),
      withSession: (id, fn) => svc.withSession(id, fn),
      replicas: () => svc.replicas(),
      shutdown: () => svc.shutdown(),
      [Symbol.asyncDispose]: () => svc.shutdown(),
    };
    const cache = new Map<string, ServiceEndpoint<unknown[], unknown>>();
    return new Proxy(control, {
      get(target, prop, receiver) {
        if (typeof prop === "symbol" || prop in target) return Reflect.get(target, prop, receiver);
        if (prop === "then" || prop === "toJSON") return undefined;
        let ep = cache.get(prop);
        if (ep === undefined) {
          ep = { route: (...args) => svc.route(prop, args), fanout: (...args) => svc.fanout(prop, args) };
          cache.set(prop, ep);
        }
        return ep;
      },
    }) as Service<T>;
  }
}
