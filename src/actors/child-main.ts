/**
 * Entry point of an actor child process (forked by child-transport.ts; under tsx from sources,
 * plain node from dist/).
 * Loads the actor class by module URL + export name, runs `setup()`, then serves calls.
 */
import { setActorContext } from "./actor-context.ts";
import { type ActorClass, type ActorLike, endpointNames, isEndpoint } from "./endpoint.ts";
import { drainMetrics } from "../observability/metrics.ts";
import { type FromChild, type ToChild, toWireError } from "./protocol.ts";
import { OWNER_PID_ENV } from "./process-registry.ts";
import { watchParent } from "../util/parent-watchdog.ts";

// The controller owns our lifetime: exit when it goes away, even if it was SIGKILLed. The IPC
// channel's 'disconnect' is the quick path while our event loop is free; the parent watchdog (a
// worker thread polling getppid) also covers a main thread stuck in a long native call.
process.on("disconnect", () => process.exit(0));
const ownerPid = Number(process.env[OWNER_PID_ENV]);
watchParent({ parentPid: Number.isInteger(ownerPid) && ownerPid > 0 ? ownerPid : process.ppid, signal: "SIGKILL" });
// Ctrl-C (delivered to the whole process group) is the controller's to handle: it stops us.
process.on("SIGINT", () => {});
// A SIGTERM sent to the whole group (a process manager) also reaches the controller, which then
// stops us without restarting us; waiting a moment lets it see the signal before our exit. A
// SIGTERM sent to this process alone still ends it (and the service restarts the replica).
process.on("SIGTERM", () => setTimeout(() => process.exit(143), 1000));

let actor: ActorLike | undefined;
let cls: ActorClass | undefined;

function send(msg: FromChild): void {
  if (process.connected) process.send!(msg);
}

async function init(msg: Extract<ToChild, { t: "init" }>): Promise<void> {
  try {
    const mod = (await import(msg.module)) as Record<string, unknown>;
    const found = mod[msg.exportName];
    if (typeof found !== "function") throw new Error(`${msg.module} has no exported class '${msg.exportName}'`);
    cls = found as ActorClass;
    const instance = new cls(...msg.args);
    setActorContext(instance, msg.context);
    await instance.setup();
    actor = instance;
    send({ t: "ready" });
  } catch (err) {
    send({ t: "setupError", error: toWireError(err) });
  }
}

async function call(msg: Extract<ToChild, { t: "call" }>): Promise<void> {
  if (actor === undefined || !isEndpoint(actor, msg.endpoint)) {
    send({ t: "error", id: msg.id, kind: "unknownEndpoint", error: { name: "UnknownEndpointError", message: msg.endpoint }, known: cls ? endpointNames(cls) : [] });
    return;
  }
  let value: unknown;
  try {
    value = await (actor as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.endpoint]!(...msg.args);
  } catch (err) {
    send({ t: "error", id: msg.id, kind: "user", error: toWireError(err) });
    return;
  }
  try {
    send({ t: "result", id: msg.id, value });
  } catch (err) {
    send({ t: "error", id: msg.id, kind: "resultNotCloneable", error: toWireError(err) });
  }
}

process.on("message", (msg: ToChild) => {
  switch (msg.t) {
    case "init":
      void init(msg);
      return;
    case "call":
      void call(msg);
      return;
    case "ping":
      send({ t: "pong", id: msg.id });
      return;
    case "metrics":
      send({ t: "metrics", id: msg.id, states: drainMetrics() });
      return;
    case "shutdown":
      void (async () => {
        try {
          await actor?.shutdown();
        } catch (err) {
          console.error("actor shutdown() failed:", err);
        }
        send({ t: "shutdownDone", id: msg.id });
      })();
      return;
  }
});
