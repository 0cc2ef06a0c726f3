/** Ctrl-C in colocated placement (generator and trainer in the controller): the same graceful stop. */
import { describe, it } from "node:test";
import { runSignalCase } from "./fixtures/signal-case.ts";

describe("signals in colocated placement", { timeout: 120_000, concurrency: true }, () => {
  it("SIGINT to the wrapper: checkpoint, exit 130, nothing left", () =>
    runSignalCase({ placement: "colocated", target: "wrapper", signal: "SIGINT", code: 130, checkpoint: true }));
  it("SIGTERM to the controller: checkpoint, exit 143, nothing left", () =>
    runSignalCase({ placement: "colocated", target: "controller", signal: "SIGTERM", code: 143, checkpoint: true }));
});
