// with_gpus → device: "cpu" when off; without a GPU the error names the flag and the way back to CPU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { InsufficientGpuError, serviceDevice } from "../../apps/shared/device.ts";

test("with_gpus: false is the CPU; true is cuda:<LOCAL_RANK> when that GPU exists, else an error naming the field", () => {
  assert.equal(serviceDevice({ withGpus: false, field: "processes.with_gpus" }), "cpu");
  const count = torch.cuda.deviceCount();
  if (count > 0) assert.equal(serviceDevice({ withGpus: true, field: "processes.with_gpus", localRank: 0 }), "cuda:0");
  assert.throws(
    () => serviceDevice({ withGpus: true, field: "processes.with_gpus", localRank: count }),
    (e: Error) =>
      e instanceof InsufficientGpuError &&
      e.message === `Insufficient GPU resources: processes.with_gpus: true needs GPU ${count}, ${count} free (set processes.with_gpus: false to run on CPU)`,
  );
});
