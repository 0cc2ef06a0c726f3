/**
 * `Actor` base class: the user-facing entry to the runtime (`X.options({...}).asActor(...)`).
 *
 * An actor's constructor stores plain (structured-cloneable) config only; heavy work goes in
 * the async `setup()` so failures reach the caller as `ActorSetupError`. Endpoints are methods
 * marked with the standard TC39 `@endpoint` decorator (`endpoint.ts`); only they can be called
 * from a handle.
 *
 * This module sits on top of the runtime: it imports the launcher, and nothing below imports it
 * (launchers and transports use the declarations in `endpoint.ts` and `actor-context.ts`).
 */

import { type ActorContext, actorContextOf } from "./actor-context.ts";
import type { ActorClass, ActorLike } from "./endpoint.ts";
import { type LaunchOptions, Launcher } from "./launcher.ts";
import type { ActorMesh } from "./mesh.ts";
import type { Service } from "./service-interface.ts";

/**
 * Base class of actors. To run in child processes (`procs > 0`) a subclass must be exported from
 * its module and say where that module is: `static module = import.meta.url;` (not declared here,
 * so subclasses need no `override`).
 */
export abstract class Actor implements ActorLike {
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

  /** Where this instance runs; set before `setup()` is called. */
  protected get context(): ActorContext {
    const ctx = actorContextOf(this);
    if (ctx === undefined) throw new Error(`${this.constructor.name}.context is only available from setup() on`);
    return ctx;
  }

  /** Heavy initialisation (load weights, open files). Runs once, before any endpoint call. */
  async setup(): Promise<void> {}

  /** Release resources. Called once when the mesh or service is shut down. */
  async shutdown(): Promise<void> {}
}
