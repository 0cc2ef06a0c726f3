/**
 * Where an actor instance runs, and how transports hand that to the instance before `setup()`.
 * Imports nothing: launchers, transports and the `Actor` class all depend on this module.
 */

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

// A registered symbol, so two copies of this module (e.g. loaded under different URLs) agree.
const CONTEXT = Symbol.for("torchforge.actors.context");

/** Internal: attach the context to an instance (used by transports before `setup()`). */
export function setActorContext(actor: object, context: ActorContext): void {
  (actor as Record<symbol, ActorContext>)[CONTEXT] = context;
}

/** The context attached by `setActorContext`, or undefined before that. */
export function actorContextOf(actor: object): ActorContext | undefined {
  return (actor as Record<symbol, ActorContext | undefined>)[CONTEXT];
}
