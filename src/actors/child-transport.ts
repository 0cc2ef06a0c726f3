/**
 * A rank in a forked OS process on this host. The child runs `child-main` — the `.ts` source
 * under tsx when this module runs from sources, the compiled `.js` under plain node when it runs
 * from dist/ (an installed package) — loads the actor class by module URL + export name, and
 * talks over Node's IPC channel with structured-clone ("advanced") serialisation.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { siblingModule } from "../util/package-root.ts";
import { ActorDiedError, ActorError, ActorSetupError, SerializationError, UnknownEndpointError } from "./errors.ts";
import { addMetricSource, removeMetricSource } from "../observability/metric-sources.ts";
import type { MetricState } from "../observability/metrics.ts";
import { OWNER_PID_ENV, isShuttingDown, registerChild } from "./process-registry.ts";
import { type FromChild, type ToChild, describeUncloneable, fromWireError } from "./protocol.ts";
import type { RankSpec, RankTransport } from "./transport.ts";

const CHILD_MAIN = fileURLToPath(siblingModule("./child-main.ts", import.meta.url));

/**
 * `--import <tsx>` when the child must load TypeScript: child-main itself is `.ts` (sources), or
 * the actor's module is (a user's TypeScript actor driven by the compiled package). tsx is
 * resolved from here, so children load TypeScript regardless of the caller's cwd; an installed
 * package finds the user's tsx in the project's node_modules above it.
 */
export function childLoaderArgs(actorModule: string): string[] {
  const typescript = CHILD_MAIN.endsWith(".ts") || /\.[cm]?ts$/.test(actorModule);
  if (!typescript) return [];
  try {
    return ["--import", import.meta.resolve("tsx")];
  } catch {
    throw new Error(`actor module ${actorModule} is TypeScript and tsx is not installed: \`npm install -D tsx\`, or compile the actor to JavaScript`);
  }
}
/**
 * Node flags for actor processes. Actors run CPU-bound native work on every core; V8's background
 * GC threads (concurrent marking, parallel scavenge) then preempt those threads and stall whole
 * parallel regions (a 100M model's decode step measured 75 → 72 ms). Garbage collection on the
 * main thread avoids that; TORCHFORGE_CONCURRENT_GC=1 keeps V8's default.
 */
export const CHILD_NODE_FLAGS: readonly string[] = process.env.TORCHFORGE_CONCURRENT_GC === "1" ? [] : ["--single-threaded-gc"];

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  endpoint: string;
}

export class ChildTransport implements RankTransport {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly deathListeners: Array<(reason: string) => void> = [];
  private exited = false;
  private intentional = false;
  private exitPromise: Promise<void> = Promise.resolve();

  constructor(private readonly spec: RankSpec) {}

  get rank(): number {
    return this.spec.context.rank;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get alive(): boolean {
    return this.child !== undefined && !this.exited;
  }

  async start(): Promise<void> {
    const { module, exportName, args, context, env, setupTimeoutMs } = this.spec;
    if (module === undefined || exportName === undefined) throw new Error("ChildTransport needs module and exportName");
    const child = fork(CHILD_MAIN, [], {
      execArgv: [...CHILD_NODE_FLAGS, ...childLoaderArgs(module)],
      serialization: "advanced",
      env: { ...process.env, ...env, [OWNER_PID_ENV]: String(process.pid) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    registerChild(child);
    addMetricSource(this);
    this.exitPromise = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (msg: FromChild) => this.onMessage(msg));
    child.once("exit", (code, signal) => this.onExit(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.on("error", (err) => this.readyWaiter?.reject(new ActorSetupError(context.actorName, context.rank, err))); // e.g. fork failed

    const ready = new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
    });
    this.send({ t: "init", module, exportName, args, context });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ActorSetupError(context.actorName, context.rank, new Error(`setup did not finish within ${setupTimeoutMs} ms`))),
        setupTimeoutMs,
      ).unref();
    });
    try {
      await Promise.race([ready, timeout]);
      if (this.pending.size === 0) this.holdLoop(false);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private readyWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private send(msg: ToChild): void {
    this.child!.send(msg, (err) => {
      // Async send failures mean the channel closed; 'exit' will reject pending calls.
      if (err && "id" in msg) this.settle(msg.id)?.reject(new ActorDiedError(this.spec.context.actorName, this.rank, this.pid, err.message));
    });
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.holdLoop(false);
    return p;
  }

  private onMessage(msg: FromChild): void {
    const { actorName } = this.spec.context;
    switch (msg.t) {
      case "ready":
        this.readyWaiter?.resolve();
        return;
      case "setupError":
        this.readyWaiter?.reject(new ActorSetupError(actorName, this.rank, fromWireError(msg.error)));
        return;
      case "error": {
        const p = this.settle(msg.id);
        if (!p) return;
        if (msg.kind === "unknownEndpoint") p.reject(new UnknownEndpointError(actorName, p.endpoint, msg.known ?? []));
        else if (msg.kind === "resultNotCloneable")
          p.reject(new SerializationError(actorName, p.endpoint, "the result", { cause: fromWireError(msg.error) }));
        else p.reject(new ActorError({ actorName, endpoint: p.endpoint, rank: this.rank, pid: this.pid }, fromWireError(msg.error)));
        return;
      }
      case "result":
      case "pong":
      case "shutdownDone":
        this.settle(msg.id)?.resolve(msg.t === "result" ? msg.value : true);
        return;
      case "metrics":
        this.settle(msg.id)?.resolve(msg.states);
        return;
    }
  }

  private onExit(reason: string): void {
    this.exited = true;
    removeMetricSource(this);
    const { actorName } = this.spec.context;
    const err = new ActorDiedError(actorName, this.rank, this.child?.pid, reason);
    this.readyWaiter?.reject(err);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(err);
    }
    this.holdLoop(false);
    // A child that exits while the controller stops (Ctrl-C reached the whole process group, the
    // stop path is stopping it) is not a failure: reporting it would make a service restart it.
    if (!this.intentional && !isShuttingDown()) for (const l of this.deathListeners) l(reason);
  }

  /**
   * Keep the controller's event loop alive only while we wait for this child: an idle actor must
   * not stop the controller from exiting (its 'exit' handler then kills the child).
   */
  private holdLoop(hold: boolean): void {
    // Both handles: the channel may close before the process is reaped, and we must see 'exit'.
    const channel = this.child?.channel as { ref?(): void; unref?(): void } | null | undefined;
    if (hold) {
      this.child?.ref();
      channel?.ref?.();
    } else {
      this.child?.unref();
      channel?.unref?.();
    }
  }

  private request(msg: ToChild & { id: number }, endpoint: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.holdLoop(true);
      this.pending.set(msg.id, { resolve, reject, endpoint });
      try {
        this.child!.send(msg, (err) => {
          if (err) this.settle(msg.id)?.reject(new ActorDiedError(this.spec.context.actorName, this.rank, this.pid, err.message));
        });
      } catch (err) {
        // A synchronous throw from send() is the serializer refusing the message.
        this.pending.delete(msg.id);
        reject(new CloneFailure(err));
      }
    });
  }

  async call(endpoint: string, args: unknown[]): Promise<unknown> {
    const { actorName } = this.spec.context;
    if (!this.alive) throw new ActorDiedError(actorName, this.rank, this.pid, "process is not running");
    try {
      return await this.request({ t: "call", id: this.nextId++, endpoint, args }, endpoint);
    } catch (err) {
      if (err instanceof CloneFailure) throw new SerializationError(actorName, endpoint, describeUncloneable(args), { cause: err.cause });
      throw err;
    }
  }

  async ping(timeoutMs: number): Promise<boolean> {
    if (!this.alive) return false;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      this.request({ t: "ping", id: this.nextId++ }, "ping").then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return ok;
  }

  /** Take the child's accumulated metric states (empty when it is gone). */
  async drainMetrics(timeoutMs = 5000): Promise<MetricState[]> {
    if (!this.alive) return [];
    let timer: NodeJS.Timeout | undefined;
    const states = await Promise.race([
      this.request({ t: "metrics", id: this.nextId++ }, "metrics").catch(() => []),
      new Promise<MetricState[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return states as MetricState[];
  }

  async stop(options?: { timeoutMs?: number }): Promise<void> {
    if (!this.alive) return this.exitPromise;
    this.intentional = true;
    const timeoutMs = options?.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.request({ t: "shutdown", id: this.nextId++ }, "shutdown").catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return this.kill();
  }

  async kill(): Promise<void> {
    this.intentional = true;
    if (this.child && !this.exited) {
      this.child.ref(); // wait for the exit even if nothing else keeps the loop alive
      this.child.kill("SIGKILL");
    }
    return this.exitPromise;
  }

  onDeath(listener: (reason: string) => void): void {
    this.deathListeners.push(listener);
  }
}

class CloneFailure extends Error {
  override name = "CloneFailure";
  constructor(cause: unknown) {
    super("message could not be serialised", { cause });
  }
}
