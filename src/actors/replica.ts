/**
 * One replica of a service: its current mesh, its state, and a request queue capped at
 * `maxConcurrency` in-flight calls. The service decides when a replica fails and restarts it;
 * the replica only runs calls and reports state changes.
 */
import { ActorDiedError } from "./errors.ts";
import type { MeshImpl } from "./mesh.ts";
import type { ReplicaState, ReplicaStatus } from "./service-interface.ts";

export class Replica {
  private current: ReplicaState = "recovering";
  mesh: MeshImpl | undefined;
  inflight = 0;
  /** Sticky sessions pinned here (kept by the session router). */
  sessions = 0;
  restarts = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(
    readonly index: number,
    private readonly cap: number,
    /** Called after every state change (the service wakes callers waiting for a healthy replica). */
    private readonly onStateChange: () => void,
  ) {}

  get state(): ReplicaState {
    return this.current;
  }
  set state(state: ReplicaState) {
    this.current = state;
    this.onStateChange();
  }

  get queued(): number {
    return this.waiters.length;
  }
  /** Requests running or waiting here; what the least-loaded router compares. */
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
      if (this.current !== "healthy" || mesh === undefined) {
        throw new ActorDiedError(actorName, 0, undefined, `replica ${this.index} is ${this.current}`);
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

  status(): ReplicaStatus {
    return {
      index: this.index,
      state: this.current,
      inflight: this.inflight,
      queued: this.queued,
      sessions: this.sessions,
      restarts: this.restarts,
      pids: this.mesh?.ranks.map((x) => x.pid) ?? [],
    };
  }
}
