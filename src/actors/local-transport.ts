/** A rank that lives in the controller process: no copies, no serialisation (the colocated fast path). */
import { setActorContext } from "./actor-context.ts";
import { type ActorLike, endpointNames, isEndpoint } from "./endpoint.ts";
import { ActorDiedError, ActorError, ActorSetupError, UnknownEndpointError } from "./errors.ts";
import { asError } from "./protocol.ts";
import type { RankSpec, RankTransport } from "./transport.ts";

export class LocalTransport implements RankTransport {
  readonly pid = undefined;
  private actor: ActorLike | undefined;
  private stopped = false;

  constructor(private readonly spec: RankSpec) {}

  get rank(): number {
    return this.spec.context.rank;
  }

  get alive(): boolean {
    return this.actor !== undefined && !this.stopped;
  }

  async start(): Promise<void> {
    const { cls, args, context } = this.spec;
    try {
      const actor = new cls(...args);
      setActorContext(actor, context);
      await actor.setup();
      this.actor = actor;
    } catch (err) {
      throw new ActorSetupError(context.actorName, context.rank, asError(err));
    }
  }

  async call(endpoint: string, args: unknown[]): Promise<unknown> {
    const { actorName, rank } = this.spec.context;
    const actor = this.actor;
    if (actor === undefined || this.stopped) throw new ActorDiedError(actorName, rank, undefined, "actor was stopped");
    if (!isEndpoint(actor, endpoint)) throw new UnknownEndpointError(actorName, endpoint, endpointNames(this.spec.cls));
    try {
      return await (actor as unknown as Record<string, (...a: unknown[]) => unknown>)[endpoint]!(...args);
    } catch (err) {
      throw new ActorError({ actorName, endpoint, rank }, asError(err));
    }
  }

  async ping(): Promise<boolean> {
    return this.alive;
  }

  async stop(options?: { timeoutMs?: number }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const actor = this.actor;
    if (actor === undefined) return;
    const timeoutMs = options?.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      actor.shutdown().catch((err: unknown) => console.error(`${this.spec.context.actorName}.shutdown() failed:`, err)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
    ]);
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    this.stopped = true;
  }

  onDeath(): void {
    // An in-process actor cannot die separately from the controller.
  }
}
