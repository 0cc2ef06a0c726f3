// ZeRO-1 (`shardOptimizerState`): 2 ranks over Gloo, each holding optimizer state for only its
// partition of the parameters, must take the same steps as unsharded data parallelism and one
// process on the whole batch; checkpoints stay in the unsharded format, so a sharded run resumes
// in one unsharded process and the other way round.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch, optim, distributed, safetensors } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer, TrainerOptionError, partitionByNumel } from "../../src/trainer/index.ts";
import { freePort } from "../../src/actors/rank-launcher.ts";
import { EPISODES, STEPS, WORKER, assertMatches, maxDiff, singleProcess, type Params } from "./dp-harness.ts";
import { lastJson, runRanks, type RankResult } from "../torch/distributed-spawn.ts";
import { TinyLM } from "./helpers.ts";

torch.setNumThreads(1);

type Out = { params: Params; owners: number[] | null; stateNumel: Record<string, number>; unconsolidated: string | null };
const outs = (ranks: RankResult[]) => ranks.map((r) => lastJson(r) as unknown as Out);
const ranks2 = (env: Record<string, string>) => runRanks(WORKER, 2, { EPISODES: String(EPISODES), STEPS: String(STEPS), ...env });

/** Each rank holds AdamW state (2 tensors of the parameter's size) for exactly its own parameters. */
function assertSharded(ranks: RankResult[], label: string, unusedIndices: number[] = []): void {
  const [a, b] = outs(ranks);
  assert.ok(a!.owners && b!.owners, `${label}: sharded`);
  assert.deepEqual(a!.owners, b!.owners, `${label}: the same partition on every rank`);
  assert.deepEqual([...new Set(a!.owners)].sort(), [0, 1], `${label}: both ranks own parameters`);
  const numels = Object.values(a!.params).map((xs) => xs.length);
  for (const [rank, out] of [a!, b!].entries()) {
    const owned: number[] = a!.owners.map((o, i) => (o === rank && !unusedIndices.includes(i) ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(Object.keys(out.stateNumel).map(Number).sort((x, y) => x - y), owned, `${label} rank ${rank}: state only for its own (used) parameters`);
    const held = Object.values(out.stateNumel).reduce((n, x) => n + x, 0);
    assert.equal(held, 2 * owned.reduce((n, i) => n + numels[i]!, 0), `${label} rank ${rank}: expAvg + expAvgSq of its partition`);
  }
}

test("partitionByNumel: whole tensors, largest first to the least-loaded rank (ties: lowest rank); deterministic", () => {
  assert.deepEqual(partitionByNumel([10, 7, 5, 3, 1], 2), [0, 1, 1, 0, 1]);
  assert.deepEqual(partitionByNumel([4, 4, 4, 4], 2), [0, 1, 0, 1]);
  assert.deepEqual(partitionByNumel([8, 1, 1], 3), [0, 1, 2]);
  assert.deepEqual(partitionByNumel([5], 2), [0], "a rank may own nothing");
  const big = Array.from({ length: 50 }, (_, i) => ((i * 7919) % 97) + 1);
  const owners = partitionByNumel(big, 4);
  assert.deepEqual(partitionByNumel(big, 4), owners);
  const load = [0, 1, 2, 3].map((r) => big.reduce((n, x, i) => n + (owners[i] === r ? x : 0), 0));
  assert.ok(Math.max(...load) - Math.min(...load) <= Math.max(...big), `balanced within one tensor: ${load}`);
  assert.throws(() => partitionByNumel([1], 0), /worldSize must be an integer >= 1/);
});

test("shardOptimizerState needs a processGroup; with a 1-rank group it shards nothing", async () => {
  const model = new TinyLM(3);
  const base = { model: model as never, loss: new GRPOLoss({ beta: 0 }), entropy: false };
  assert.throws(() => new Trainer({ ...base, shardOptimizerState: true }), (e: unknown) => e instanceof TrainerOptionError && /'shardOptimizerState' must be used with a processGroup/.test(e.message));
  assert.throws(() => new Trainer({ ...base, shardOptimizerState: "yes" as never }), /'shardOptimizerState' must be a boolean/);
  const group = distributed.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: "127.0.0.1", masterPort: await freePort(), timeoutMs: 10_000 });
  try {
    const trainer = new Trainer({ ...base, processGroup: group, shardOptimizerState: true });
    assert.equal(trainer.optimizerStateOwners, null);
    trainer.consolidateOptimizerState(); // a no-op, safe to call on every rank
    trainer.dispose();
  } finally {
    group.destroy();
    model.dispose();
  }
});

test("2 sharded ranks = 2 unsharded ranks = 1 process (3 AdamW steps, clipping active, buckets reduced during and after backward); each rank holds half the state", async () => {
  const ref = singleProcess("tiny");
  const env = { MODEL: "tiny", BUCKET_BYTES: "64" };
  const unsharded = await ranks2({ ...env, OVERLAP: "1" });
  const overlapped = await ranks2({ ...env, OVERLAP: "1", SHARD: "1" });
  const after = await ranks2({ ...env, OVERLAP: "0", SHARD: "1" });
  const u = assertMatches(unsharded, ref, "unsharded");
  const a = assertMatches(overlapped, ref, "sharded, overlapped");
  const b = assertMatches(after, ref, "sharded, after backward");
  assert.ok(maxDiff(u, a) <= 1e-6 && maxDiff(u, b) <= 1e-6, `sharded vs unsharded: ${maxDiff(u, a)}, ${maxDiff(u, b)}`);
  assertSharded(overlapped, "overlapped");
  assertSharded(after, "after backward");
  const total = (out: Out) => Object.values(out.stateNumel).reduce((n, x) => n + x, 0);
  const [u0] = outs(unsharded);
  assert.equal(u0!.owners, null);
  assert.equal(outs(overlapped).reduce((n, o) => n + total(o), 0), total(u0!), "the shards add up to one unsharded rank's state");
});

test("Adam (L2 decay) and SGD with momentum, built from optimizer options, shard too: the same steps as unsharded ranks, state only for owned parameters", async () => {
  for (const opt of ["adam-l2", "sgd-momentum"]) {
    const env = { MODEL: "tiny", BUCKET_BYTES: "64", OPT: opt };
    const [plain, sharded] = [await ranks2(env), await ranks2({ ...env, SHARD: "1" })];
    const [p0] = outs(plain);
    const [s0, s1] = outs(sharded);
    assert.ok(maxDiff(p0!.params, s0!.params) <= 1e-6 && maxDiff(p0!.params, s1!.params) <= 1e-6, `${opt}: sharded vs unsharded ${maxDiff(p0!.params, s0!.params)}`);
    assert.ok(s0!.owners, `${opt}: sharded`);
    for (const [rank, out] of [s0!, s1!].entries()) {
      const foreign = Object.keys(out.stateNumel).map(Number).filter((i) => s0!.owners![i] !== rank);
      assert.deepEqual(foreign, [], `${opt} rank ${rank}: no state for another rank's parameters`);
      assert.ok(Object.keys(out.stateNumel).length > 0, `${opt} rank ${rank}: holds state for its own`);
    }
  }
});

test("bf16 parameters with float32 masters: every rank's parameters (masters rounded after the owner's broadcast) equal the unsharded run's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zero1-bf16-"));
  const env = { MODEL: "tiny-bf16", BUCKET_BYTES: "64" };
  const plain = outs(await ranks2({ ...env, SAVE_DIR: join(dir, "plain") }));
  const sharded = await ranks2({ ...env, SHARD: "1", SAVE_DIR: join(dir, "sharded") });
  for (const r of sharded) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stdout}\n${r.stderr}`);
  // Rank 0's checkpoint holds every float32 master as the unsharded run's does (each owner broadcast its own).
  const masters = ["plain", "sharded"].map((d) => safetensors.loadSafetensors(join(dir, d, "step-3", "master-weights.safetensors")));
  assert.deepEqual([...masters[1]!.keys()].sort(), [...masters[0]!.keys()].sort());
  for (const [name, t] of masters[0]!) {
    assert.equal(t.dtype, "float32");
    const d = torch.tidy(() => masters[1]!.get(name)!.sub(t).abs().max().item());
    assert.ok(d <= 1e-6, `master ${name} differs by ${d}`);
  }
  torch.dispose(masters.map((m) => [...m.values()]));
  rmSync(dir, { recursive: true, force: true });
  for (const [rank, out] of outs(sharded).entries()) {
    assert.ok(maxDiff(plain[0]!.params, out.params) <= 1e-6, `rank ${rank}: ${maxDiff(plain[0]!.params, out.params)}`);
  }
  assert.ok(maxDiff(plain[0]!.params, singleProcess("tiny-bf16", undefined, { steps: 0 }).params) > 0, "the steps changed the bf16 weights");
  assertSharded(sharded, "bf16 masters");
});

test("sharded, with a parameter one rank does not use and one nobody uses: same step as one process; no state for the unused one", async () => {
  const ref = singleProcess("branchy");
  const ranks = await ranks2({ MODEL: "branchy", BUCKET_BYTES: "256", SHARD: "1" });
  const p = assertMatches(ranks, ref, "sharded branchy");
  const unused = Object.keys(p).flatMap((name, i) => (name.startsWith("unused.") ? [i] : []));
  assert.equal(unused.length, 2);
  assertSharded(ranks, "branchy", unused);
  assert.deepEqual(p["unused.weight"], ref.params["unused.weight"], "the parameter no rank uses is left as it was");
});

test("checkpoints: a sharded 2-rank run resumes in 1 unsharded process, and 1 process's checkpoint in 2 sharded ranks, to the uninterrupted run's weights", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zero1-"));
  try {
    const uninterrupted = singleProcess("tiny", undefined, { steps: STEPS + 1 });
    // Sharded → unsharded. The same 3 steps unsharded, saved too: the files must hold the same state.
    const sharded = await ranks2({ MODEL: "tiny", SHARD: "1", SAVE_DIR: join(dir, "sharded") });
    await ranks2({ MODEL: "tiny", SAVE_DIR: join(dir, "plain") });
    const o = outs(sharded)[0]!;
    assert.match(String(o.unconsolidated), /optimizer state is sharded over 2 ranks .*call consolidateOptimizerState\(\) on every rank after step 3/);
    const s = optim.loadOptimizerState(join(dir, "sharded", "step-3", "optimizer.safetensors"));
    const plain = optim.loadOptimizerState(join(dir, "plain", "step-3", "optimizer.safetensors"));
    assert.deepEqual(Object.keys(s.state).sort(), ["0", "1", "2"], "every parameter's state, from both ranks");
    assert.deepEqual(s.paramGroups, plain.paramGroups);
    for (const [i, e] of Object.entries(plain.state)) {
      assert.equal(s.state[Number(i)]!.step, e.step);
      for (const [name, t] of Object.entries(e.tensors)) {
        const d = torch.tidy(() => s.state[Number(i)]!.tensors[name]!.sub(t).abs().max().item());
        assert.ok(d <= 1e-6, `state ${i}.${name} differs by ${d}`);
      }
    }
    torch.dispose([s.state, plain.state]);
    const resumed = singleProcess("tiny", undefined, { steps: 1, loadDir: join(dir, "sharded") });
    assert.ok(maxDiff(uninterrupted.params, resumed.params) <= 1e-6, `sharded → 1 process: ${maxDiff(uninterrupted.params, resumed.params)}`);
    // Unsharded (1 process) → 2 sharded ranks, each keeping only its partition's state.
    singleProcess("tiny", undefined, { loadDir: undefined, saveDir: join(dir, "single") });
    const ranks = await ranks2({ MODEL: "tiny", SHARD: "1", LOAD_DIR: join(dir, "single"), STEPS: "1" });
    for (const r of ranks) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stdout}\n${r.stderr}`);
    for (const out of outs(ranks)) assert.ok(maxDiff(uninterrupted.params, out.params) <= 1e-6, `1 process → sharded: ${maxDiff(uninterrupted.params, out.params)}`);
    assertSharded(ranks, "resumed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
