/**
 * Control messages between a controller and host agents over NATS. Payloads are
 * `v8.serialize`d (the same structured clone as the child-process IPC); bulk tensors never ride
 * here, the weight store moves them and messages carry handles.
 */
import { deserialize, serialize } from "node:v8";
import type { ActorContext } from "./actor-context.ts";
import type { WireError } from "./protocol.ts";

export const subjects = {
  /** Requests to one host agent (spawn, call, ping, stop, metrics). */
  agentRpc: (host: string) => `forge.agent.${host}.rpc`,
  agentHeartbeat: (host: string) => `forge.agent.${host}.heartbeat`,
  anyAgentHeartbeat: "forge.agent.*.heartbeat",
  /** An agent announces that one of its actor processes died. */
  anyAgentDied: "forge.agent.*.died",
  agentDied: (host: string) => `forge.agent.${host}.died`,
  controllerHeartbeat: (id: string) => `forge.controller.${id}.heartbeat`,
  anyControllerHeartbeat: "forge.controller.*.heartbeat",
};

export type AgentRequest = { callId: number; controller: string } & (
  | { t: "spawn"; module: string; exportName: string; args: unknown[]; context: ActorContext; env: Record<string, string>; setupTimeoutMs: number; withGpus: boolean }
  | { t: "call"; actorId: string; endpoint: string; args: unknown[] }
  | { t: "ping" | "stop" | "kill" | "metrics"; actorId: string; timeoutMs?: number }
);

export type AgentReply =
  | { callId: number; ok: true; value?: unknown; actorId?: string; pid?: number; gpus?: string[] }
  | { callId: number; ok: false; kind: "setup" | "user" | "unknownEndpoint" | "resultNotCloneable" | "died" | "other"; error: WireError; known?: string[] };

/** `Omit` applied to each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type AgentReplyBody = DistributiveOmit<AgentReply, "callId">;
export type AgentRequestBody = DistributiveOmit<AgentRequest, "callId" | "controller">;

export interface AgentHeartbeat {
  host: string;
  cores: number;
  gpus: number;
}

export interface ActorDied {
  actorId: string;
  reason: string;
}

export const encode = (value: unknown): Uint8Array => serialize(value);
export const decode = <T>(data: Uint8Array): T => deserialize(data) as T;
