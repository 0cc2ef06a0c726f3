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
export type Service<T extends ActorLike> = {
  readonly [K in EndpointKeys<T>]: ServiceEndpoint<EndpointArgs<T[K]>, EndpointResult<T[K]>>;
} & ServiceControl;
