import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InsufficientResourcesError, Provisioner, detectGpus } from "../../src/actors/index.ts";
import { Counter } from "./fixtures/counter.ts";
import { assertNoOrphans } from "./fixtures/helpers.ts";

describe("provisioner", () => {
  it("respects CUDA_VISIBLE_DEVICES", () => {
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: "2,3" }), ["2", "3"]);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: "" }), []);
    assert.deepEqual(detectGpus({ CUDA_VISIBLE_DEVICES: "1,-1,2" }), ["1"]);
    // Without the variable it asks nvidia-smi (none here, or whatever the host has).
    assert.ok(Array.isArray(detectGpus({})));
  });

  it("never hands one GPU to two processes and names what is missing", () => {
    const p = new Provisioner({ gpus: 4, cores: 2 });
    assert.deepEqual(p.hosts()[0]!.cores, 2);
    const a = p.allocateGpus(3);
    assert.throws(
      () => p.allocateGpus(3),
      (e: unknown) => e instanceof InsufficientResourcesError && e.message === "Insufficient GPU resources: asked for 3, 1 free",
    );
    const b = p.allocateGpus(1);
    assert.equal(new Set([...a, ...b]).size, 4);
    p.releaseGpus(a);
    assert.deepEqual(p.freeGpus(), ["0", "1", "2"]);
  });

  it("gives each child process its own CUDA_VISIBLE_DEVICES and frees GPUs at shutdown", async () => {
    const provisioner = new Provisioner({ gpus: ["5", "7", "9"] });
    const mesh = await Counter.options({ procs: 2, withGpus: true, provisioner }).asActor();
    const stats = await mesh.stats.call();
    assert.deepEqual(stats.map((s) => s.cuda), ["5", "7"]);
    assert.deepEqual(stats.map((s) => s.gpus), [["5"], ["7"]]);
    await assert.rejects(Counter.options({ procs: 2, withGpus: true, provisioner }).asActor(), /Insufficient GPU resources: asked for 2, 1 free/);
    await mesh.shutdown();
    assert.deepEqual(provisioner.freeGpus(), ["5", "7", "9"]);
    await assertNoOrphans(mesh.pids);
  });
});
