/**
 * `Actor` base class and the `@endpoint` decorator.
 *
 * An actor's constructor stores plain (structured-cloneable) config only; heavy work goes in
 * the async `setup()` so failures reach the caller as `ActorSetupError`. Endpoints are methods
 * marked with the standard TC39 `@endpoint` decorator; only they can be called from a handle.
 *
 * This module knows nothing about processes: launching lives in `launcher.ts`.
 */

import { type LaunchOptions, Launcher } from "./launcher.ts";
import type { ActorMesh } from "./mesh.ts";
import type { Service } from "./service.ts";

const ENDPOINT_MARK = Symbol.for("torchforge.actors.endpoint");
const CONTEXT = Symbol.for("torchforge.actors.context");

/** Marks an actor method as callable through actor and service handles. */
export function endpoint<This extends Actor, A extends unknown[], R>(
  method: (this: This, ...args: A) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
): void {
  if (context.static || context.private) {
    throw new TypeError(`@endpoint ${String(context.name)}: endpoints must be public instance methods`);
  }
  // Mark the function itself: survives inheritance and needs no Symbol.metadata (absent in Node 20).
  Object.defineProperty(method, ENDPOINT_MARK, { value: true });
}

/** Where an actor instance runs. Available from `setup()` on as `this.context`. */
export interface ActorContext {
  /** Class name of the actor. */
  actorName: string;
  /** Rank within its mesh (0..size-1). */
  rank: number;
  /** Number of ranks in its mesh (`procs`, or 1 in-process). */
  size: number;
  /** Replica index when part of a service, else 0. */
  replica: number;
  /** GPU device ids (CUDA_VISIBLE_DEVICES tokens) assigned by the provisioner; a child process sees only these. */
  gpus: string[];
  /** "local" (controller process), "child" (a forked OS process) or "remote" (a process on another host). */
  placement: "local" | "child" | "remote";
  /** Host name (the agent's name for remote placement). */
  host: string;
}

/**
 * Base class of actors. To run in child processes (`procs > 0`) a subclass must be exported from
 * its module and say where that module is: `static module = import.meta.url;` (not declared here,
 * so subclasses need no `override`).
 */
export abstract class Actor {
  /** Configure placement and service behaviour; then `.asActor(...)` or `.asService(...)`. */
  static options<T extends Actor, A extends unknown[]>(this: new (...args: A) => T, options: LaunchOptions = {}): Launcher<T, A> {
    return new Launcher<T, A>(this as unknown as ActorClass<T, A>, options);
  }

  /** Shorthand for `X.options().asActor(...args)`: one rank in the controller process. */
  static asActor<T extends Actor, A extends unknown[]>(this: new (...args: A) => T, ...args: A): Promise<ActorMesh<T>> {
    return new Launcher<T, A>(this as unknown as ActorClass<T, A>).asActor(...args);
  }

  /** Shorthand for `X.options().asService(...args)`: one in-process replica. */
  static asService<T extends Actor, A extends unknown[]>(this: new (...args: A) => T, ...args: A): Promise<Service<T>> {
    return new Launcher<T, A>(this as unknown as ActorClass<T, A>).asService(...args);
  }

  private [CONTEXT]?: ActorContext;

  /** Where this instance runs; set before `setup()` is called. */
  protected get context(): ActorContext {
    const ctx = this[CONTEXT];
    if (ctx === undefined) throw new Error(`${this.constructor.name}.context is only available from setup() on`);
    return ctx;
  }

  /** Heavy initialisation (load weights, open files). Runs once, before any endpoint call. */
  async setup(): Promise<void> {}

  /** Release resources. Called once when the mesh or service is shut down. */
  async shutdown(): Promise<void> {}
}

/** Internal: attach the context to an instance (used by transports before `setup()`). */
export function setActorContext(actor: Actor, context: ActorContext): void {
  (actor as unknown as Record<symbol, ActorContext>)[CONTEXT] = context;
}

/** Constructor type of an actor class with constructor arguments `A`. */
export type ActorClass<T extends Actor = Actor, A extends unknown[] = any[]> = (new (...args: A) => T) & {
  module?: string;
  readonly name: string;
  readonly prototype: T;
};

/** Names of `@endpoint` methods on a class, walking the prototype chain. */
export function endpointNames(cls: ActorClass): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Actor.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      if (typeof desc?.value === "function" && (desc.value as Record<symbol, unknown>)[ENDPOINT_MARK] === true) {
        names.add(key);
      }
    }
  }
  return [...names].sort();
}

/** Whether `name` is an endpoint of `actor` (checked again where the actor runs). */
export function isEndpoint(actor: Actor, name: string): boolean {
  const fn = (actor as unknown as Record<string, unknown>)[name];
  return typeof fn === "function" && (fn as unknown as Record<symbol, unknown>)[ENDPOINT_MARK] === true;
}
