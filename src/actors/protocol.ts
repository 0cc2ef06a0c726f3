/** Messages between the controller and an actor's child process (sent with advanced serialization). */
import type { ActorContext } from "./actor-context.ts";
import type { MetricState } from "../observability/metrics.ts";

/** An error as it crosses a process boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

export type ToChild =
  | { t: "init"; module: string; exportName: string; args: unknown[]; context: ActorContext }
  | { t: "call"; id: number; endpoint: string; args: unknown[] }
  | { t: "ping"; id: number }
  | { t: "metrics"; id: number }
  | { t: "shutdown"; id: number };

export type FromChild =
  | { t: "ready" }
  | { t: "setupError"; error: WireError }
  | { t: "result"; id: number; value: unknown }
  | { t: "error"; id: number; kind: "user" | "unknownEndpoint" | "resultNotCloneable"; error: WireError; known?: string[] }
  | { t: "pong"; id: number }
  | { t: "metrics"; id: number; states: MetricState[] }
  | { t: "shutdownDone"; id: number };

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "NonErrorThrown", message: `non-Error value thrown: ${String(err)}` };
}

/** Rebuild an Error from the wire; keeps name, message and the remote stack. */
export function fromWireError(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  err.stack = wire.stack;
  return err;
}

/** Normalise anything thrown into an Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : fromWireError(toWireError(err));
}

/** Name the first argument that cannot be structured-cloned, for the error message. */
export function describeUncloneable(args: unknown[]): string {
  for (let i = 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch {
      return `argument ${i} (${typeof args[i] === "function" ? "a function" : typeof args[i]})`;
    }
  }
  return "an argument";
}
