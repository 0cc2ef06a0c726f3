// Shared by tests/trainer/data-parallel*.test.ts: the single-process reference run and the
// comparison of the ranks' output with it.
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer } from "../../src/trainer/index.ts";
import { BranchyLM, batchOf, episodes } from "./helpers.ts";
import { dpModel, dpOptimizer, type DpModelKind } from "./fixtures/dp-models.ts";
import { lastJson, runRanks, type RankResult } from "../torch/distributed-spawn.ts";

export const WORKER = "tests/trainer/fixtures/dp-worker.ts";
export const STEPS = 3;
export const EPISODES = 8;
export type StepOut = { loss: number; gradNorm: number; tokens: number; sequences: number };
export type Params = Record<string, number[]>;

/**
 * One process, the whole batch in 4 micro-batches (2 ranks' 2 micro-batches each, concatenated).
 * `steps` more steps after resuming from `loadDir` (if given); saved to `saveDir` at the end.
 */
export function singleProcess(kind: DpModelKind, opt?: "sgd", o: { steps?: number; loadDir?: string; saveDir?: string } = {}) {
  const { model, trainable, activationCheckpointing } = dpModel(kind, 3);
  const frozen0 = trainable ? Object.fromEntries([...model.namedParameters()].map(([k, p]) => [k, p.toFlatArray()])) : {};
  const trainer = new Trainer({
    model,
    ...(trainable ? { trainable } : {}),
    ...(activationCheckpointing ? { activationCheckpointing } : {}),
    loss: new GRPOLoss({ beta: 0 }),
    optimizer: dpOptimizer(opt, trainable ?? model),
    maxNorm: 0.05,
    entropy: false,
  });
  if (o.loadDir) trainer.load(o.loadDir);
  const results: StepOut[] = [];
  const branches: boolean[][] = [];
  const forward = model.forward.bind(model);
  if (model instanceof BranchyLM) {
    model.forward = ((ids: Parameters<typeof forward>[0], o?: Parameters<typeof forward>[1]) => {
      branches.at(-1)!.push(BranchyLM.takesBranch(ids));
      return forward(ids, o);
    }) as typeof model.forward;
  }
  for (let s = trainer.step, end = trainer.step + (o.steps ?? STEPS); s < end; s++) {
    branches.push([]);
    const batch = batchOf(episodes(EPISODES, 10 + s), 4);
    const r = trainer.trainStep(batch);
    torch.dispose(batch);
    results.push({ loss: r.loss, gradNorm: r.gradNorm, tokens: r.tokens, sequences: r.sequences });
  }
  if (o.saveDir) trainer.save(o.saveDir);
  const params: Params = Object.fromEntries([...(trainable ?? model).namedParameters()].map(([k, p]) => [k, p.toFlatArray()]));
  trainer.dispose();
  model.dispose();
  return { results, params, frozen0, branches };
}

export function maxDiff(a: Params, b: Params): number {
  let d = 0;
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const [k, xs] of Object.entries(a)) xs.forEach((x, j) => (d = Math.max(d, Math.abs(x - b[k]![j]!))));
  return d;
}

/** Every rank's steps and final weights equal the single process's to 1e-6; returns rank 0's weights. */
export function assertMatches(ranks: RankResult[], ref: ReturnType<typeof singleProcess>, label: string): Params {
  for (const r of ranks) assert.equal(r.code, 0, `${label} rank ${r.rank}: ${r.stdout}\n${r.stderr}`);
  const outs = ranks.map((r) => lastJson(r) as { results: StepOut[]; params: Params; frozen: Params });
  for (const [rank, out] of outs.entries()) {
    out.results.forEach((s, i) => {
      const e = ref.results[i]!;
      assert.equal(s.tokens, e.tokens, `${label}: global token count`);
      assert.equal(s.sequences, e.sequences, `${label}: global sequence count`);
      assert.ok(Math.abs(s.loss - e.loss) < 1e-6, `${label} step ${i} loss ${s.loss} vs ${e.loss}`);
      assert.ok(Math.abs(s.gradNorm - e.gradNorm) < 1e-6, `${label} step ${i} grad norm ${s.gradNorm} vs ${e.gradNorm}`);
      assert.ok(e.gradNorm > 0.05, "clipping was active, so the global norm mattered");
    });
    const d = maxDiff(ref.params, out.params);
    assert.ok(d < 1e-6, `${label} rank ${rank} params differ from the single-process run by ${d}`);
    if (Object.keys(ref.frozen0).length > 0) assert.equal(maxDiff(ref.frozen0, out.frozen), 0, `${label}: the frozen base changed`);
  }
  return outs[0]!.params;
}

/** 2 ranks with buckets reduced during backward, then 2 ranks with them reduced after it. */
export async function both(kind: DpModelKind, extra: Record<string, string> = {}) {
  const env = { STEPS: String(STEPS), EPISODES: String(EPISODES), MODEL: kind, ...extra };
  // Sequential: two pairs of ranks at once would only fight over the cores.
  const overlapped = await runRanks(WORKER, 2, { ...env, OVERLAP: "1" });
  const after = await runRanks(WORKER, 2, { ...env, OVERLAP: "0" });
  return { overlapped, after };
}
