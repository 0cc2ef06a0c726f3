/**
 * Signals sent to the `forge` wrapper (bin/forge.ts) of a real `forge grpo` run: each reaches the
 * controller once; a second Ctrl-C quits at once; a SIGKILLed wrapper still stops the run.
 */
import { describe, it } from "node:test";
import { runSignalCase } from "./fixtures/signal-case.ts";

describe("signals to the forge wrapper", { timeout: 120_000, concurrency: true }, () => {
  it("SIGINT: checkpoint, exit 130, nothing left", () => runSignalCase({ target: "wrapper", signal: "SIGINT", code: 130, checkpoint: true }));
  it("SIGINT twice: quits at once, exit 130, nothing left", () => runSignalCase({ target: "wrapper", signal: "SIGINT", twice: true, code: 130, checkpoint: false }));
  it("SIGKILL: the controller stops (checkpoint), nothing left", () => runSignalCase({ target: "wrapper", signal: "SIGKILL", exitSignal: "SIGKILL", checkpoint: true }));
});
