/**
 * The `@endpoint` decorator and the lookups over it, plus the structural shape of an actor.
 * Imports nothing: the `Actor` class (which launches) sits above this module, and launchers,
 * meshes and transports below `Actor` only need these declarations — so no import circle.
 */

const ENDPOINT_MARK = Symbol.for("torchforge.actors.endpoint");

/** What the runtime needs of an actor instance; `Actor` is the class that provides it. */
export interface ActorLike {
  /** Heavy initialisation, run once before any endpoint call. */
  setup(): Promise<void>;
  /** Release resources when the mesh or service shuts down. */
  shutdown(): Promise<void>;
}

/** Constructor type of an actor class with constructor arguments `A`. */
export type ActorClass<T extends ActorLike = ActorLike, A extends unknown[] = any[]> = (new (...args: A) => T) & {
  module?: string;
  readonly name: string;
  readonly prototype: T;
};

/** Marks an actor method as callable through actor and service handles. */
export function endpoint<This extends ActorLike, A extends unknown[], R>(
  method: (this: This, ...args: A) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
): void {
  if (context.static || context.private) {
    throw new TypeError(`@endpoint ${String(context.name)}: endpoints must be public instance methods`);
  }
  // Mark the function itself: survives inheritance and needs no Symbol.metadata (absent in Node 20).
  Object.defineProperty(method, ENDPOINT_MARK, { value: true });
}

function isMarked(fn: unknown): boolean {
  return typeof fn === "function" && (fn as unknown as Record<symbol, unknown>)[ENDPOINT_MARK] === true;
}

/** Names of `@endpoint` methods on a class, walking the prototype chain. */
export function endpointNames(cls: ActorClass): string[] {
  const names = new Set<string>();
  // Up to Object.prototype: the base `Actor` class marks no endpoints, so it needs no special stop.
  for (let proto = cls.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      if (isMarked(desc?.value)) names.add(key);
    }
  }
  return [...names].sort();
}

/** Whether `name` is an endpoint of `actor` (checked again where the actor runs). */
export function isEndpoint(actor: ActorLike, name: string): boolean {
  return isMarked((actor as unknown as Record<string, unknown>)[name]);
}
