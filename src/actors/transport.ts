/**
 * One rank of an actor mesh, wherever it runs. Meshes and services only see this interface;
 * `local-transport.ts` (controller process) and `child-transport.ts` (forked process) implement it.
 */
import type { ActorContext } from "./actor-context.ts";
import type { ActorClass } from "./endpoint.ts";

/** Everything needed to create one actor instance. */
export interface RankSpec {
  cls: ActorClass;
  /** Module URL and export name, for loading the class in another process. */
  module?: string;
  exportName?: string;
  args: unknown[];
  context: ActorContext;
  /** Extra environment for a child process. */
  env?: Record<string, string>;
  /** How long construction + `setup()` may take. */
  setupTimeoutMs: number;
}

export interface RankTransport {
  readonly rank: number;
  /** OS process id, or undefined when the actor runs in the controller process. */
  readonly pid: number | undefined;
  readonly alive: boolean;
  /** Construct the actor and run `setup()`. Rejects with `ActorSetupError`. */
  start(): Promise<void>;
  /** Call an endpoint; rejects with ActorError, ActorDiedError, UnknownEndpointError or SerializationError. */
  call(endpoint: string, args: unknown[]): Promise<unknown>;
  /** Resolves true when the rank answered within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean>;
  /** Run `shutdown()` (bounded by `timeoutMs`) and release the process; never rejects. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Force-kill now (for a hung or failed rank); resolves when gone. */
  kill(): Promise<void>;
  /** Called once if the rank dies without `stop()`/`kill()` being asked for. */
  onDeath(listener: (reason: string) => void): void;
}
