// Data-parallel training over Gloo: N ranks on shares of a batch must take exactly the step one
// process takes on the whole batch (global token normalisation + summed gradients), and a rank
// that dies must end the others' step with an error instead of a hang.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer } from "../../src/trainer/index.ts";
import { TinyLM, batchOf, episodes } from "./helpers.ts";
import { lastJson, runRanks } from "../torch/distributed-spawn.ts";

torch.setNumThreads(1);
const WORKER = "tests/trainer/fixtures/dp-worker.ts";

function singleProcess(steps: number, perStep: number) {
  const model = new TinyLM(3);
  const trainer = new Trainer({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 1e-2 }, maxNorm: 0.05, entropy: false });
  const results = [];
  for (let s = 0; s < steps; s++) {
    const batch = batchOf(episodes(perStep, 10 + s), 4);
    const r = trainer.trainStep(batch);
    torch.dispose(batch);
    results.push({ loss: r.loss, gradNorm: r.gradNorm, tokens: r.tokens, sequences: r.sequences });
  }
  const params = Object.fromEntries([...model.namedParameters()].map(([k, p]) => [k, p.toFlatArray()]));
  model.dispose();
  return { results, params };
}

test("2 ranks × half the batch = 1 process × the whole batch, to 1e-6 (3 AdamW steps with clipping)", async () => {
  const ranks = await runRanks(WORKER, 2, { STEPS: "3", EPISODES: "8" });
  for (const r of ranks) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stdout}\n${r.stderr}`);
  const ref = singleProcess(3, 8);
  for (const r of ranks) {
    const out = lastJson(r) as { results: typeof ref.results; params: Record<string, number[]> };
    out.results.forEach((s, i) => {
      const e = ref.results[i]!;
      assert.equal(s.tokens, e.tokens, "global token count");
      assert.equal(s.sequences, e.sequences, "global sequence count");
      assert.ok(Math.abs(s.loss - e.loss) < 1e-6, `step ${i} loss ${s.loss} vs ${e.loss}`);
      assert.ok(Math.abs(s.gradNorm - e.gradNorm) < 1e-6, `step ${i} grad norm ${s.gradNorm} vs ${e.gradNorm}`);
      assert.ok(e.gradNorm > 0.05, "clipping was active, so the global norm mattered");
    });
    let maxDiff = 0;
    for (const [k, xs] of Object.entries(ref.params)) xs.forEach((x, j) => (maxDiff = Math.max(maxDiff, Math.abs(x - out.params[k]![j]!))));
    assert.ok(maxDiff < 1e-6, `rank ${r.rank} params differ from the single-process run by ${maxDiff}`);
  }
});

test("a rank killed mid-run ends the other rank's step with a DistributedError naming its rank", async () => {
  const start = Date.now();
  const ranks = await runRanks(WORKER, 2, { STEPS: "3", KILL_AT_STEP: "1" });
  assert.equal(ranks[1]!.signal, "SIGKILL");
  assert.equal(ranks[0]!.code, 1);
  const out = lastJson(ranks[0]!);
  assert.equal(out.name, "DistributedError");
  assert.match(String(out.error), /on rank 0 of 2 failed/);
  assert.ok(Date.now() - start < 25_000, "the failure was noticed well before the 30 s collective timeout");
});
