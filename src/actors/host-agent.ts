/**
 * Host agent for multi-host placement: one per machine, connected to NATS. It forks actor
 * processes on its host for controllers (reusing the child-process transport), relays calls,
 * reports deaths, and kills a controller's actors when that controller's heartbeat stops, so a
 * crashed controller on another machine leaves no orphans here.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { connect, type Msg, type NatsConnection } from "nats";
import type { ActorClass } from "./endpoint.ts";
import { ChildTransport } from "./child-transport.ts";
import { ActorDiedError, ActorError, ActorOptionsError, ActorSetupError, ClusterError, SerializationError, UnknownEndpointError } from "./errors.ts";
import { type AgentHeartbeat, type AgentReplyBody, type AgentRequest, decode, encode, subjects } from "./nats-wire.ts";
import { toWireError } from "./protocol.ts";
import { getDefaultProvisioner } from "./provisioner.ts";

export interface HostAgentOptions {
  /** NATS server URL(s). */
  servers: string | string[];
  /** Name controllers use for this host. */
  host: string;
  /** @default 200 */
  heartbeatMs?: number;
  /** Kill a controller's actors after this long without its heartbeat. @default 1500 */
  controllerTimeoutMs?: number;
}

interface Hosted {
  transport: ChildTransport;
  controller: string;
  gpus: string[];
}

export interface HostAgent {
  readonly host: string;
  /** Settles once the agent has stopped (close(), or its NATS connection closed for good). */
  readonly closed: Promise<void>;
  /** PIDs of the actor processes this agent runs. */
  pids(): number[];
  /** Kill every hosted actor and disconnect. */
  close(): Promise<void>;
}

/** Host names are NATS subject tokens: no dots, spaces or wildcards. */
export const HOST_NAME = /^[A-Za-z0-9_-]+$/;

export async function runHostAgent(options: HostAgentOptions): Promise<HostAgent> {
  const { host } = options;
  if (!HOST_NAME.test(host)) {
    throw new ActorOptionsError("host", `'${host}' must be letters, digits, '-' or '_' (a NATS subject token: no dots); use a short name such as ${JSON.stringify(host.split(".")[0]!.replace(/[^A-Za-z0-9_-]/g, "-") || "node1")}`);
  }
  const nc: NatsConnection = await connect({ servers: options.servers, name: `forge-agent-${host}` });
  // Two agents under one name would both answer every spawn: refuse to be the second.
  const heartbeatMs = options.heartbeatMs ?? 200;
  const rival = nc.subscribe(subjects.agentHeartbeat(host), { max: 1 });
  const taken = await Promise.race([
    (async () => {
      for await (const _ of rival) return true;
      return false;
    })(),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2.5 * heartbeatMs)),
  ]);
  rival.unsubscribe();
  if (taken) {
    await nc.close();
    throw new ClusterError(`another host agent already runs as '${host}' on ${[options.servers].flat().join(", ")}; give this one another name`);
  }
  const actors = new Map<string, Hosted>();
  const controllerSeen = new Map<string, number>();
  const provisioner = getDefaultProvisioner();
  const controllerTimeoutMs = options.controllerTimeoutMs ?? 1500;

  const remove = (actorId: string) => {
    const a = actors.get(actorId);
    if (a) provisioner.releaseGpus(a.gpus);
    actors.delete(actorId);
  };

  async function handle(req: AgentRequest): Promise<AgentReplyBody> {
    controllerSeen.set(req.controller, Date.now());
    if (req.t === "spawn") {
      const gpus = req.withGpus ? provisioner.allocateGpus(1) : [];
      const transport = new ChildTransport({
        cls: undefined as unknown as ActorClass, // loaded in the child by module + export name
        module: req.module,
        exportName: req.exportName,
        args: req.args,
        context: { ...req.context, gpus },
        env: { ...req.env, ...(gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus.join(",") } : {}) },
        setupTimeoutMs: req.setupTimeoutMs,
      });
      try {
        await transport.start();
      } catch (err) {
        provisioner.releaseGpus(gpus);
        const cause = err instanceof ActorSetupError && err.cause instanceof Error ? err.cause : err;
        return { ok: false, kind: "setup", error: toWireError(cause) };
      }
      const actorId = randomUUID();
      actors.set(actorId, { transport, controller: req.controller, gpus });
      transport.onDeath((reason) => {
        remove(actorId);
        nc.publish(subjects.agentDied(host), encode({ actorId, reason }));
      });
      return { ok: true, actorId, pid: transport.pid, gpus };
    }
    const hosted = actors.get(req.actorId);
    if (hosted === undefined) {
      if (req.t === "stop" || req.t === "kill") return { ok: true };
      return { ok: false, kind: "died", error: { name: "ActorDiedError", message: "no such actor on this host (it died or was stopped)" } };
    }
    const t = hosted.transport;
    switch (req.t) {
      case "call":
        try {
          return { ok: true, value: await t.call(req.endpoint, req.args) };
        } catch (err) {
          if (err instanceof ActorError) return { ok: false, kind: "user", error: toWireError(err.cause) };
          if (err instanceof UnknownEndpointError) return { ok: false, kind: "unknownEndpoint", error: toWireError(err), known: [...err.known] };
          if (err instanceof SerializationError) return { ok: false, kind: "resultNotCloneable", error: toWireError(err.cause ?? err) };
          if (err instanceof ActorDiedError) return { ok: false, kind: "died", error: { name: err.name, message: err.reason } };
          return { ok: false, kind: "other", error: toWireError(err) };
        }
      case "ping":
        return { ok: true, value: await t.ping(req.timeoutMs ?? 1000) }; // the controller's health-check timeout
      case "metrics":
        return { ok: true, value: await t.drainMetrics() };
      case "stop":
      case "kill":
        remove(req.actorId);
        await (req.t === "stop" ? t.stop() : t.kill());
        return { ok: true };
    }
  }

  nc.subscribe(subjects.agentRpc(host), {
    callback: (err, msg: Msg) => {
      if (err) return;
      let req: AgentRequest;
      try {
        req = decode<AgentRequest>(msg.data);
      } catch {
        return; // not a controller's request (a throw here would close the connection)
      }
      void handle(req)
        .catch((e: unknown) => ({ ok: false as const, kind: "other" as const, error: toWireError(e) }))
        .then((reply) => {
          try {
            msg.respond(encode({ ...reply, callId: req.callId }));
          } catch (e) {
            msg.respond(encode({ callId: req.callId, ok: false, kind: "resultNotCloneable", error: toWireError(e) }));
          }
        });
    },
  });
  nc.subscribe(subjects.anyControllerHeartbeat, {
    callback: (err, msg) => {
      if (!err) controllerSeen.set(msg.subject.split(".")[2]!, Date.now());
    },
  });

  const beat: AgentHeartbeat = { host, cores: availableParallelism(), gpus: provisioner.hosts()[0]!.gpus.length };
  const timer = setInterval(() => {
    nc.publish(subjects.agentHeartbeat(host), encode(beat));
    const now = Date.now();
    for (const [actorId, a] of actors) {
      if (now - (controllerSeen.get(a.controller) ?? 0) > controllerTimeoutMs) {
        remove(actorId);
        void a.transport.kill(); // its controller is gone: no orphans
      }
    }
  }, heartbeatMs);
  nc.publish(subjects.agentHeartbeat(host), encode(beat));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(timer);
      await Promise.all([...actors.values()].map((a) => a.transport.kill()));
      actors.clear();
      if (!nc.isClosed()) await nc.close();
    })());
  const closed = nc.closed().then(() => close());
  return {
    host,
    closed,
    pids: () => [...actors.values()].map((a) => a.transport.pid).filter((p): p is number => p !== undefined),
    close,
  };
}
