/**
 * Signals sent to the controller of a real `forge grpo` run (separate placement, 2 generator
 * replicas): graceful stops checkpoint and exit 128+signal; a SIGKILL leaves no process and no
 * shared memory behind (the actors' watchdogs end them, the wrapper reclaims the store).
 */
import { describe, it } from "node:test";
import { runSignalCase } from "./fixtures/signal-case.ts";

describe("signals to the controller", { timeout: 120_000, concurrency: true }, () => {
  it("SIGINT: checkpoint, exit 130, nothing left", () => runSignalCase({ target: "controller", signal: "SIGINT", code: 130, checkpoint: true }));
  it("SIGTERM: checkpoint, exit 143, nothing left", () => runSignalCase({ target: "controller", signal: "SIGTERM", code: 143, checkpoint: true }));
  it("SIGKILL: exit 137, no actor process, no /dev/shm store left", () => runSignalCase({ target: "controller", signal: "SIGKILL", code: 137, checkpoint: false }));
});
