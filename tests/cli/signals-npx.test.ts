/**
 * Signals sent to `npx forge grpo` (npx → sh -c → forge wrapper → controller → actors), run
 * offline through a local bin shim: whatever npx does with the signal, the run stops and leaves
 * no process and no shared memory behind. Ctrl-C is sent as a terminal sends it, to npx's whole
 * process group: a SIGINT to the npx process alone is forwarded by npm to its `sh -c`, which only
 * waits for its child, so it never reaches the run (use Ctrl-C or SIGTERM).
 */
import { describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { runSignalCase } from "./fixtures/signal-case.ts";

const npx = spawnSync("npx", ["--version"], { encoding: "utf8" });
const skip = npx.status === 0 ? false : "npx is not available";

describe("signals to npx forge", { timeout: 120_000, skip, concurrency: true }, () => {
  it("Ctrl-C (SIGINT to the group): checkpoint, nothing left", () => runSignalCase({ via: "npx", target: "npx", group: true, signal: "SIGINT", checkpoint: true }));
  it("SIGTERM: checkpoint, nothing left", () => runSignalCase({ via: "npx", target: "npx", signal: "SIGTERM", checkpoint: true }));
  it("SIGKILL: the run stops (checkpoint), nothing left", () => runSignalCase({ via: "npx", target: "npx", signal: "SIGKILL", checkpoint: true }));
});
