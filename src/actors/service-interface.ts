/**
 * What callers see of a service: its options, the typed handle (`route` / `fanout` per endpoint,
 * sessions, replica status). The machinery behind the handle is `service.ts`.
 *
 *   svc.generate.route(prompt)     one healthy replica (round-robin, or the session's replica)
 *   svc.updateWeights.fanout(v)    every healthy replica; values by replica
 */
import type { ActorLike } from "./endpoint.ts";
import type { EndpointArgs, EndpointKeys, EndpointResult } from "./mesh.ts";

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
  /** How long `route` (and `fanout`, for a replica being restarted) waits for a healthy replica before `ServiceUnavailableError`. @default 30000 */
  unavailableTimeoutMs?: number;
  /**
   * Endpoints safe to run twice (reads, or writes that set rather than add): only their calls are
   * retried when the replica died mid-call. A call to any other endpoint fails with the
   * `ActorDiedError`, since it may have taken effect before the death. @default every endpoint
   */
  idempotent?: readonly string[];
  /**
   * Successful restarts each replica may have over the service's life; a replica that dies after
   * that is marked unhealthy instead of restarted (0: never restart). @default Infinity
   */
  restartLimit?: number;
  /**
   * Runs on a restarted replica before it takes work (routable again), e.g. to load the current
   * weights: a replica restarts from its constructor config, which may be long out of date.
   * A hook that throws counts as a failed restart. @default none
   */
  onRestart?: (replica: RestartedReplica) => Promise<void>;
  /** Where restart and failure lines go. @default console.error */
  log?: (line: string) => void;
}

/** What `onRestart` gets: the replica, and a way to call it before anyone else can. */
export interface RestartedReplica {
  readonly serviceName: string;
  readonly index: number;
  /** Successful restarts so far, this one included. */
  readonly restarts: number;
  /** Calls `endpoint` on the new replica (every rank; rank 0's value). */
  call(endpoint: string, ...args: unknown[]): Promise<unknown>;
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
  /**
   * Call every healthy replica; values by replica. A replica that dies mid-call is waited for and
   * called again once restarted (idempotent endpoints); one whose restarts are exhausted is left
   * out of the values. Rejects with `ServiceUnavailableError` when no replica answered.
   */
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
export type Service<T extends ActorLike> = {
  readonly [K in EndpointKeys<T>]: ServiceEndpoint<EndpointArgs<T[K]>, EndpointResult<T[K]>>;
} & ServiceControl;
