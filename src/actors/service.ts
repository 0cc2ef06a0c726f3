/**
 * Services: `numReplicas` copies of an actor mesh behind one handle.
 *
 *   svc.generate.route(prompt)     one healthy replica (round-robin, or the session's replica)
 *   svc.updateWeights.fanout(v)    every healthy replica; values by replica
 *
 * Each replica has a request queue capped at `maxConcurrency` in-flight calls. A replica whose
 * process dies (or fails a health check) goes healthy → recovering → healthy again after a
 * restart, or → unhealthy when restarts are exhausted. A request that was in flight on a dead
 * replica is retried on another healthy one (at most `retries` times); an endpoint that throws is
 * not retried and does not hurt the replica.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Actor } from "./actor.ts";
import { ActorDiedError, ServiceUnavailableError, UnknownEndpointError } from "./errors.ts";
import type { EndpointArgs, EndpointKeys, EndpointResult, MeshImpl, SupervisionEvent } from "./mesh.ts";

/** Service behaviour; placement options live in `PlacementOptions`. */
export interface ServiceOptions {
  /** Replicas, each a full mesh of `procs` ranks. @default 1 */
  numReplicas?: number;
  /** In-flight requests per replica; more wait in that replica's queue. @default 10 */
  maxConcurrency?: number;
  /** Times a request whose replica died is retried on another replica. @default 2 */
  retries?: number;
  /** Consecutive failed restarts before a replica is marked unhealthy. @default 3 */
  maxRestarts?: number;
  /** Interval between health pings of each replica; 0 disables them. @default 2000 */
  healthCheckIntervalMs?: number;
  /** A ping not answered within this marks the replica failed (it is killed and restarted). @default 5000 */
  healthCheckTimeoutMs?: number;
  /** How long `route` waits for a healthy replica before `ServiceUnavailableError`. @default 30000 */
  unavailableTimeoutMs?: number;
}

export type ReplicaState = "healthy" | "recovering" | "unhealthy" | "stopped";

export interface ReplicaStatus {
  index: number;
  state: ReplicaState;
  /** Requests running now. */
  inflight: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Sticky sessions pinned here. */
  sessions: number;
  /** Successful restarts so far. */
  restarts: number;
  pids: (number | undefined)[];
}

/** Delivery adverbs of one endpoint on a service. */
export interface ServiceEndpoint<A extends unknown[], R> {
  /** Call one healthy replica: the current session's, else round-robin. */
  route(...args: A): Promise<R>;
  /** Call every healthy replica; values by replica. */
  fanout(...args: A): Promise<R[]>;
}

export interface ServiceControl {
  readonly name: string;
  /**
   * Start a sticky session for the rest of the current async context (AsyncLocalStorage
   * `enterWith`); `route` calls go to the same replica until `terminateSession()`.
   */
  startSession(): string;
  /** End a session (the current one when no id is given). */
  terminateSession(id?: string): void;
  /** Run `fn` in a new sticky session, ended when `fn` settles. */
  session<R>(fn: () => Promise<R>): Promise<R>;
  /** Run `fn` inside an existing session started with `startSession()`. */
  withSession<R>(id: string, fn: () => Promise<R>): Promise<R>;
  /** State of every replica. */
  replicas(): ReplicaStatus[];
  /** Stop every replica; pending and later requests fail with `ServiceUnavailableError`. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Typed handle to a service of `T`. */
export type Service<T extends Actor> = {
  readonly [K in EndpointKeys<T>]: ServiceEndpoint<EndpointArgs<T[K]>, EndpointResult<T[K]>>;
} & ServiceControl;

class Replica {
  state: ReplicaState = "recovering";
  mesh: MeshImpl | undefined;
  inflight = 0;
  sessions = 0;
  restarts = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(
    readonly index: number,
    private readonly cap: number,
  ) {}

  get queued(): number {
    return this.waiters.length;
  }
  get load(): number {
    return this.inflight + this.waiters.length;
  }

  private async acquire(): Promise<void> {
    if (this.inflight < this.cap) {
      this.inflight++;
      return;
    }
    await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve(); // the slot passes straight to the next request
    else this.inflight--;
  }

  /** Run `fn` on this replica's current mesh within the concurrency cap. */
  async run<R>(actorName: string, fn: (mesh: MeshImpl) => Promise<R>): Promise<R> {
    await this.acquire();
    try {
      const mesh = this.mesh;
      if (this.state !== "healthy" || mesh === undefined) {
        throw new ActorDiedError(actorName, 0, undefined, `replica ${this.index} is ${this.state}`);
      }
      return await fn(mesh);
    } finally {
      this.release();
    }
  }

  /** Queued requests never started here: fail them so `route` retries them elsewhere. */
  rejectQueued(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class ServiceImpl {
  private readonly replicaList: Replica[];
  private readonly sessionStore = new AsyncLocalStorage<string>();
  private readonly sessionReplica = new Map<string, Replica>();
  private rr = 0;
  private stopped = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private changeWaiters: Array<() => void> = [];
  private readonly retries: number;
  private readonly maxRestarts: number;
  private readonly unavailableTimeoutMs: number;
  private readonly healthCheckTimeoutMs: number;

  constructor(
    readonly name: string,
    private readonly endpoints: readonly string[],
    private readonly spawn: (replica: number) => Promise<MeshImpl>,
    private readonly options: ServiceOptions,
  ) {
    const cap = options.maxConcurrency ?? 10;
    this.replicaList = Array.from({ length: options.numReplicas ?? 1 }, (_, i) => new Replica(i, cap));
    this.retries = options.retries ?? 2;
    this.maxRestarts = options.maxRestarts ?? 3;
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? 30_000;
    this.healthCheckTimeoutMs = options.healthCheckTimeoutMs ?? 5000;
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
    this.setState(replica, "healthy");
  }

  private setState(replica: Replica, state: ReplicaState): void {
    replica.state = state;
    for (const wake of this.changeWaiters.splice(0)) wake();
  }

  private onReplicaFailure(replica: Replica, mesh: MeshImpl, event: SupervisionEvent): void {
    if (this.stopped || replica.mesh !== mesh || replica.state !== "healthy") return; // stale or already handled
    this.setState(replica, "recovering");
    replica.rejectQueued(event.error);
    void mesh.kill(); // the rest of a multi-rank replica is useless without the dead rank
    void this.restart(replica);
  }

  private async restart(replica: Replica): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const mesh = await this.spawn(replica.index);
        if (this.stopped) return void (await mesh.shutdown());
        replica.restarts++;
        this.install(replica, mesh);
        return;
      } catch (err) {
        if (attempt > this.maxRestarts) {
          console.error(`service ${this.name}: replica ${replica.index} is unhealthy after ${attempt} failed restarts:`, err);
          this.setState(replica, "unhealthy");
          return;
        }
        await sleep(Math.min(100 * 2 ** attempt, 5000));
      }
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
    if (sessionId === undefined) return healthy[this.rr++ % healthy.length]!;
    const current = this.sessionReplica.get(sessionId);
    if (current?.state === "healthy") return current;
    // New session, or its replica failed: least-loaded healthy replica, fewest sessions on ties.
    if (current) current.sessions--;
    const chosen = healthy.reduce((a, b) => (b.load < a.load || (b.load === a.load && b.sessions < a.sessions) ? b : a));
    chosen.sessions++;
    this.sessionReplica.set(sessionId, chosen);
    return chosen;
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
    const sessionId = this.sessionStore.getStore();
    for (let attempt = 0; ; attempt++) {
      const replica = await this.pick(sessionId);
      try {
        return await replica.run(this.name, (mesh) => ServiceImpl.callReplica(mesh, endpoint, args));
      } catch (err) {
        if (!(err instanceof ActorDiedError) || this.stopped || attempt >= this.retries) throw err;
      }
    }
  }

  async fanout(endpoint: string, args: unknown[]): Promise<unknown[]> {
    this.check(endpoint);
    const healthy = await this.healthyReplicas();
    return Promise.all(healthy.map((r) => r.run(this.name, (mesh) => ServiceImpl.callReplica(mesh, endpoint, args))));
  }

  startSession(): string {
    const id = randomUUID();
    this.sessionStore.enterWith(id);
    return id;
  }

  terminateSession(id = this.sessionStore.getStore()): void {
    if (id === undefined) return;
    const replica = this.sessionReplica.get(id);
    if (replica) replica.sessions--;
    this.sessionReplica.delete(id);
    if (this.sessionStore.getStore() === id) this.sessionStore.enterWith(undefined as unknown as string);
  }

  session<R>(fn: () => Promise<R>): Promise<R> {
    const id = randomUUID();
    return this.sessionStore.run(id, async () => {
      try {
        return await fn();
      } finally {
        this.terminateSession(id);
      }
    });
  }

  withSession<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.sessionStore.run(id, fn);
  }

  replicas(): ReplicaStatus[] {
    return this.replicaList.map((r) => ({
      index: r.index,
      state: r.state,
      inflight: r.inflight,
      queued: r.queued,
      sessions: r.sessions,
      restarts: r.restarts,
      pids: r.mesh?.ranks.map((x) => x.pid) ?? [],
    }));
  }

  async shutdown(): Promise<void> {
    if (this.stopped && this.replicaList.every((r) => r.state === "stopped")) return;
    this.stopped = true;
    clearInterval(this.healthTimer);
    const err = new ServiceUnavailableError(this.name, "the service was shut down");
    await Promise.all(
      this.replicaList.map(async (r) => {
        r.rejectQueued(err);
        await r.mesh?.shutdown();
        this.setState(r, "stopped");
      }),
    );
  }

  handle<T extends Actor>(): Service<T> {
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
