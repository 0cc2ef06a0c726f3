import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";

const WATCHDOG = new URL("../../src/util/parent-watchdog.ts", import.meta.url).href;
const TSX = import.meta.resolve("tsx");

describe("parent watchdog", () => {
  it("signals this process when the watched parent is gone, even while its main thread is busy", async () => {
    // parentPid 1 is never our parent here, so the watchdog fires at its first poll.
    const code = `import { watchParent } from ${JSON.stringify(WATCHDOG)};
      watchParent({ parentPid: 1, signal: "SIGTERM", graceMs: 2500, pollMs: 20 });
      process.on("SIGTERM", () => console.log("SIGTERM"));
      const t0 = Date.now(); while (Date.now() - t0 < 1500) {} // stuck in a long call
      setTimeout(() => console.log("survived"), 3000);`;
    const child = spawn(process.execPath, ["--import", TSX, "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const [, signal] = await once(child, "exit");
    assert.equal(signal, "SIGKILL", "SIGKILLed once the grace period passed");
    assert.match(out, /SIGTERM/);
    assert.doesNotMatch(out, /survived/);
  });

  it("leaves a process whose parent is alive alone", async () => {
    const code = `import { watchParent } from ${JSON.stringify(WATCHDOG)};
      watchParent({ pollMs: 20 });
      setTimeout(() => console.log("done"), 300);`;
    const child = spawn(process.execPath, ["--import", TSX, "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const [exitCode] = await once(child, "exit");
    assert.equal(exitCode, 0);
    assert.match(out, /done/);
  });
});
