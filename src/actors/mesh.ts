/**
 * Actor meshes: one actor class running on `size` ranks, reached through typed adverbs.
 *
 *   mesh.incr.callOne(2)      single-rank mesh only; the value
 *   mesh.incr.call(2)         every rank; values by rank
 *   mesh.incr.choose(2)       one rank (round-robin); the value
 *   mesh.incr.broadcast(2)    every rank, fire-and-forget; failures go to supervision
 *   mesh.incr.stream(2)       every rank; { rank, value } as each finishes
 */
import type { ActorLike } from "./endpoint.ts";
import { ActorDiedError, UnknownEndpointError } from "./errors.ts";
import type { RankTransport } from "./transport.ts";

type AnyFn = (...args: any[]) => any;

/** Names that handles use themselves; an endpoint may not take them. */
export const RESERVED_NAMES = [
  "setup",
  "shutdown",
  "size",
  "pids",
  "onFailure",
  "then",
  "session",
  "startSession",
  "terminateSession",
  "withSession",
  "replicas",
  "name",
] as const;
type Reserved = (typeof RESERVED_NAMES)[number] | "context";

/** Public method names of `T` usable as endpoints (mark them with `@endpoint` too). */
export type EndpointKeys<T> = {
  [K in keyof T]: K extends Reserved ? never : K extends string ? (T[K] extends AnyFn ? K : never) : never;
}[keyof T];
export type EndpointArgs<F> = F extends (...args: infer A) => any ? A : never;
export type EndpointResult<F> = F extends (...args: any[]) => infer R ? Awaited<R> : never;

/** Delivery adverbs of one endpoint on an actor mesh. */
export interface ActorEndpoint<A extends unknown[], R> {
  /** Call the only rank of a single-rank mesh. */
  callOne(...args: A): Promise<R>;
  /** Call every rank; resolves to the values by rank. */
  call(...args: A): Promise<R[]>;
  /** Call one rank, chosen round-robin. */
  choose(...args: A): Promise<R>;
  /** Send to every rank without waiting; failures go to the mesh's supervision. */
  broadcast(...args: A): void;
  /** Call every rank; yields `{ rank, value }` in completion order. */
  stream(...args: A): AsyncGenerator<{ rank: number; value: R }, void, undefined>;
}

/** A failure no call was waiting for: a dead rank, or a broadcast that threw. */
export interface SupervisionEvent {
  actorName: string;
  rank: number;
  pid: number | undefined;
  error: Error;
}

export interface ActorMeshControl {
  /** Number of ranks. */
  readonly size: number;
  /** OS process id per rank (undefined for in-process ranks). */
  readonly pids: (number | undefined)[];
  /**
   * Handle failures no caller is waiting for. Without a handler, such a failure of a
   * standalone mesh is thrown as an uncaught error: the controller fails loudly instead of hanging.
   */
  onFailure(handler: (event: SupervisionEvent) => void): void;
  /** Run `shutdown()` on every rank and end their processes. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Typed handle to an actor mesh of `T`. */
export type ActorMesh<T extends ActorLike> = {
  readonly [K in EndpointKeys<T>]: ActorEndpoint<EndpointArgs<T[K]>, EndpointResult<T[K]>>;
} & ActorMeshControl;

/** Internal mesh; handles are Proxies over it. */
export class MeshImpl {
  private rr = 0;
  private stopping = false;
  private readonly handlers: Array<(e: SupervisionEvent) => void> = [];
  /** Set by a service: it supervises its replicas. */
  owner: ((e: SupervisionEvent) => void) | undefined;

  constructor(
    readonly actorName: string,
    readonly ranks: RankTransport[],
    readonly endpoints: readonly string[],
    private readonly onStopped: () => void,
  ) {
    for (const r of ranks) {
      r.onDeath((reason) => this.fail({ actorName, rank: r.rank, pid: r.pid, error: new ActorDiedError(actorName, r.rank, r.pid, reason) }));
    }
  }

  get stopped(): boolean {
    return this.stopping;
  }

  private fail(event: SupervisionEvent): void {
    if (this.stopping) return;
    if (this.owner) return this.owner(event);
    if (this.handlers.length > 0) {
      for (const h of this.handlers) h(event);
      return;
    }
    // Unsupervised singleton failure: crash the controller loudly (exit handlers kill children).
    process.nextTick(() => {
      throw event.error;
    });
  }

  check(endpoint: string): void {
    if (!this.endpoints.includes(endpoint)) throw new UnknownEndpointError(this.actorName, endpoint, this.endpoints);
  }

  callRank(rank: number, endpoint: string, args: unknown[]): Promise<unknown> {
    this.check(endpoint);
    const r = this.ranks[rank];
    if (r === undefined) throw new RangeError(`${this.actorName}: rank ${rank} out of range (size ${this.ranks.length})`);
    return r.call(endpoint, args);
  }

  async callAll(endpoint: string, args: unknown[]): Promise<unknown[]> {
    this.check(endpoint);
    return Promise.all(this.ranks.map((r) => r.call(endpoint, args)));
  }

  endpoint(name: string): ActorEndpoint<unknown[], unknown> {
    const mesh = this;
    return {
      async callOne(...args) {
        if (mesh.ranks.length !== 1) throw new RangeError(`${mesh.actorName}.${name}.callOne needs a single-rank mesh (size ${mesh.ranks.length}); use call() or choose()`);
        return mesh.callRank(0, name, args);
      },
      call: (...args) => mesh.callAll(name, args),
      async choose(...args) {
        const rank = mesh.rr++ % mesh.ranks.length;
        return mesh.callRank(rank, name, args);
      },
      broadcast(...args) {
        mesh.check(name);
        for (const r of mesh.ranks) {
          r.call(name, args).catch((error: Error) => mesh.fail({ actorName: mesh.actorName, rank: r.rank, pid: r.pid, error }));
        }
      },
      async *stream(...args) {
        mesh.check(name);
        const waiting = new Map(
          mesh.ranks.map((r) => [r.rank, r.call(name, args).then((value) => ({ rank: r.rank, value }))] as const),
        );
        while (waiting.size > 0) {
          const done = await Promise.race(waiting.values());
          waiting.delete(done.rank);
          yield done;
        }
      },
    };
  }

  onFailure(handler: (e: SupervisionEvent) => void): void {
    this.handlers.push(handler);
  }

  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.ranks.map((r) => r.stop()));
    this.onStopped();
  }

  /** Kill every rank now (a failed service replica). */
  async kill(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.ranks.map((r) => r.kill()));
    this.onStopped();
  }

  handle<T extends ActorLike>(): ActorMesh<T> {
    const mesh = this;
    const cache = new Map<string, ActorEndpoint<unknown[], unknown>>();
    const control: ActorMeshControl = {
      get size() {
        return mesh.ranks.length;
      },
      get pids() {
        return mesh.ranks.map((r) => r.pid);
      },
      onFailure: (h) => mesh.onFailure(h),
      shutdown: () => mesh.shutdown(),
      [Symbol.asyncDispose]: () => mesh.shutdown(),
    };
    return new Proxy(control, {
      get(target, prop, receiver) {
        if (typeof prop === "symbol" || prop in target) return Reflect.get(target, prop, receiver);
        if (prop === "then" || prop === "toJSON") return undefined; // not a thenable / plain JSON
        let ep = cache.get(prop);
        if (ep === undefined) cache.set(prop, (ep = mesh.endpoint(prop)));
        return ep;
      },
    }) as ActorMesh<T>;
  }
}
