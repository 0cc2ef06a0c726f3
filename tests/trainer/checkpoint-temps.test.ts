// A crash mid-save leaves `step-<N>.tmp-<pid>-<rand>/`; the next save removes such folders and
// nothing else (completed checkpoints, unrelated files).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, optim } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer } from "../../src/trainer/index.ts";
import { TinyLM, batchOf, episodes } from "./helpers.ts";

torch.setNumThreads(1);

test("save removes stale step-*.tmp-* folders left by an interrupted save, and keeps everything else", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-ckpt-temps-"));
  const model = new TinyLM(2);
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), entropy: false });
  const batch = batchOf(episodes(4), 1);
  trainer.trainStep(batch);
  trainer.save(dir);
  // An interrupted save of step 2 (by another pid), with partial contents, and unrelated entries.
  for (const stale of ["step-2.tmp-999-abc", "step-17.tmp-1-x"]) {
    mkdirSync(join(dir, stale, "model"), { recursive: true });
    writeFileSync(join(dir, stale, "model", "partial.safetensors"), "x");
  }
  mkdirSync(join(dir, "notes.tmp-1"));
  writeFileSync(join(dir, "step-3.tmp"), "not a folder pattern");
  trainer.trainStep(batch);
  trainer.save(dir);
  torch.dispose(batch);
  const names = readdirSync(dir).sort();
  assert.ok(!names.some((n) => /^step-\d+\.tmp-/.test(n)), `stale temp folders remain: ${names.join(", ")}`);
  for (const kept of ["step-1", "step-2", "notes.tmp-1", "step-3.tmp"]) assert.ok(existsSync(join(dir, kept)), `${kept} kept`);
  trainer.dispose();
  model.dispose();
});
