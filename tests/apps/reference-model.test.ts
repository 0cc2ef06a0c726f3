// The reference model as a service (`services.ref_model.separate: true`) scores exactly what the
// in-controller reference model scores, at any temperature, in 64-row chunks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { liveChildPids } from "../../src/actors/index.ts";
import { loadReference, localReference, refModelPlacement, startReferenceService } from "../../apps/grpo/reference-model.ts";

const grpo = (refModel: Record<string, unknown> | undefined, beta = 0.1) =>
  loadGrpoConfig({
    data: {
      output_dir: mkdtempSync(join(tmpdir(), "tf-ref-")),
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d" },
      grpo: { beta },
      services: refModel ? { ref_model: refModel } : {},
    },
  }).config;

test("ref_model placement: in the controller by default, a service with separate: true or hosts, none at beta 0", () => {
  assert.equal(refModelPlacement(grpo({})), "controller");
  assert.equal(refModelPlacement(grpo({ separate: true })), "service");
  assert.equal(refModelPlacement(grpo({ separate: false })), "controller");
  assert.equal(refModelPlacement(grpo(undefined, 0)), "none");
  assert.throws(() => grpo({ separate: false, hosts: ["hostA"] }), /ref_model\.separate: false, but services\.ref_model\.hosts names hosts/);
});

test("a reference-model service in a child process gives the in-controller numbers exactly", async () => {
  const config = grpo({ separate: true });
  const modelSpec = { ...config.model };
  const local = localReference(loadReference(modelSpec));
  const service = await startReferenceService(config, { modelSpec, log: () => undefined });
  try {
    assert.match(service.where, /a service of 1 replica\(s\): pid \d+ on /);
    // 70 rows of different lengths: two chunks (64 + 6), right-padded within each.
    const rows = Array.from({ length: 70 }, (_, i) => Array.from({ length: 3 + (i % 7) }, (_, j) => (i * 7 + j * 3) % 50));
    for (const temperature of [1, 0.7]) {
      const want = await local.logprobs(rows, temperature);
      const got = await service.logprobs(rows, temperature);
      assert.equal(got.length, 70);
      assert.equal(got[5]!.length, rows[5]!.length - 1);
      assert.deepEqual(got, want);
    }
  } finally {
    await service.close();
    await local.close();
  }
  assert.deepEqual(liveChildPids(), []);
});
