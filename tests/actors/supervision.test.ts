import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { assertNoOrphans, isAlive, waitFor } from "./fixtures/helpers.ts";

const CONTROLLER = fileURLToPath(new URL("./fixtures/controller.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

interface Run {
  proc: ChildProcess;
  pids: number[];
  stderr: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startController(mode: string): Promise<Run> {
  const proc = spawn(process.execPath, ["--import", TSX, CONTROLLER, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const exit = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const pids = await new Promise<number[]>((resolve, reject) => {
    proc.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line).pids);
    });
    void exit.then(() => reject(new Error(`controller exited early: ${err}`)));
  });
  return { proc, pids, stderr: () => err, exit };
}

describe("supervision and orphans", () => {
  it("fails the controller loudly when an unsupervised singleton dies", async () => {
    const run = await startController("singleton");
    const [code] = await run.exit;
    assert.equal(code, 1);
    assert.match(run.stderr(), /ActorDiedError: Counter rank 0 \(pid \d+\) died: killed by SIGKILL/);
    await assertNoOrphans(run.pids);
  });

  it("children exit when the controller is SIGKILLed", async () => {
    const run = await startController("hang");
    assert.ok(run.pids.every(isAlive));
    run.proc.kill("SIGKILL");
    await run.exit;
    await waitFor(() => run.pids.every((p) => !isAlive(p)), "children to notice the controller died", 2000);
  });

  it("Ctrl-C (SIGINT) ends the controller and its children", async () => {
    const run = await startController("hang");
    run.proc.kill("SIGINT");
    const [, signal] = await run.exit;
    assert.equal(signal, "SIGINT");
    await assertNoOrphans(run.pids);
  });

  it("an uncaught error in the controller leaves no children", async () => {
    const run = await startController("throw");
    const [code] = await run.exit;
    assert.equal(code, 1);
    assert.match(run.stderr(), /controller bug/);
    await assertNoOrphans(run.pids);
  });

  it("a controller that returns without shutdown exits and leaves no children", async () => {
    const run = await startController("finish");
    const [code] = await run.exit;
    assert.equal(code, 0, run.stderr());
    await assertNoOrphans(run.pids);
  });
});
