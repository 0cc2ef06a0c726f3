// KvCache on its own (move, shifts, prompt boundaries, shared-prefix hints) and, randomized,
// the engine's shared-prefix decoding against independent prefill and the training path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { GenerationEngine, KvCache, type Completion } from "../../src/generation/index.ts";
import { prefill, smallCache } from "./kv-cache-fixtures.ts";

torch.setNumThreads(1);

/** The keys `slot` holds, in order (its columns [start, col)). */
function keysOf(cache: KvCache, slot: number): number[] {
  return torch.tidy(() => cache.keys[0]!.narrow(0, slot, 1).narrow(2, cache.start[slot]!, cache.length(slot)).toFlatArray());
}
function valuesOf(cache: KvCache, slot: number): number[] {
  return torch.tidy(() => cache.values[0]!.narrow(0, slot, 1).narrow(2, cache.start[slot]!, cache.length(slot)).toFlatArray());
}

/** One decode step writing `value` for every row; returns the hook's shared-prefix hint. */
function decode(cache: KvCache, value: number): { rows: number[]; keys: number[] } | null {
  cache.reserveDecodeColumn();
  const rows = cache.batchRows;
  const hook = cache.decodeHook(rows);
  const out = torch.tidy(() => {
    const k = torch.full([rows, 1, 1, 1], value, { dtype: "float32" });
    const kv = hook.update(0, k, k.neg());
    const sp = kv.sharedPrefix as { rows: Tensor; keys: Tensor } | null | undefined;
    return sp ? { rows: sp.rows.toFlatArray(), keys: sp.keys.toFlatArray() } : null;
  });
  cache.advance();
  return out;
}

test("prefill writes a group's prompt to each slot; decode appends; the shared-prefix hint names the group's first row and the prompt's columns", () => {
  const cache = smallCache(4, 16);
  const slots = cache.allocate(3);
  assert.deepEqual(slots, [0, 1, 2]);
  prefill(cache, slots, 4, 10);
  for (const s of slots) {
    assert.deepEqual(keysOf(cache, s), [10, 11, 12, 13]);
    assert.deepEqual(valuesOf(cache, s), [-10, -11, -12, -13]);
  }
  const hint = decode(cache, 99);
  assert.ok(hint, "three rows share a prompt");
  assert.deepEqual(hint.rows, [0, 0, 0]);
  assert.deepEqual(hint.keys, [4, 4, 4], "the prompt spans the 4 leading window columns");
  assert.deepEqual(keysOf(cache, 1), [10, 11, 12, 13, 99]);
  assert.equal(cache.length(1), 5);
  assert.equal(cache.length(3), 0, "a free slot is empty");
  cache.dispose();
});

test("move carries a sequence's columns, start, group and prompt boundary; the source becomes free", () => {
  const cache = smallCache(5, 24);
  // Slot 0: a single prompt (no group). Slots 1-3: a group of 3 on a 3-token prompt.
  prefill(cache, cache.allocate(1), 5, 100);
  prefill(cache, cache.allocate(3), 3, 200);
  decode(cache, 7);
  decode(cache, 8);
  cache.release(1); // the group's first member finishes: slot 2 now leads the group
  cache.release(0);
  const before3 = keysOf(cache, 3);
  cache.move(3, 0);
  assert.equal(cache.isLive(3), false);
  assert.equal(cache.isLive(0), true);
  assert.deepEqual(keysOf(cache, 0), before3);
  assert.deepEqual(valuesOf(cache, 0), before3.map((x) => -x));
  assert.deepEqual(before3, [200, 201, 202, 7, 8]);
  assert.equal(cache.batchRows, 3);
  // Rows 0 and 2 share the group's prompt: both read the 3 prompt columns from row 0 (the lowest).
  const hint = decode(cache, 9);
  assert.ok(hint, "the moved row still shares its group's prompt");
  assert.deepEqual(hint.rows, [0, 1, 0]);
  const lo = Math.min(cache.start[0]!, cache.start[2]!);
  assert.equal(hint.keys[0], cache.start[0]! + 3 - lo, "prompt boundary of the moved row");
  assert.equal(hint.keys[2], cache.start[2]! + 3 - lo);
  assert.deepEqual(keysOf(cache, 0), [200, 201, 202, 7, 8, 9]);
  assert.throws(() => cache.move(1, 0), /slot 1 must be live and slot 0 free/);
  cache.dispose();
});

test("a moved row keeps its own prompt boundary, not the one its new slot held before", () => {
  const cache = smallCache(4, 32);
  prefill(cache, cache.allocate(2), 2, 50); // slots 0,1: group B, prompt ends at column 2
  for (let i = 0; i < 3; i++) decode(cache, i);
  prefill(cache, cache.allocate(2), 2, 60); // slots 2,3: group C, prompt on columns [3, 5)
  decode(cache, 7);
  cache.release(0);
  cache.release(1);
  cache.move(3, 0);
  const hint = decode(cache, 8);
  assert.ok(hint);
  assert.deepEqual(hint.rows, [0, 1, 0], "row 2 reads the shared prompt from the moved row 0 (same group)");
  assert.equal(cache.start[0], 3);
  assert.deepEqual([hint.keys[0], hint.keys[2]], [2, 2], "both rows' prompt spans the 2 leading window columns");
  assert.deepEqual(keysOf(cache, 0), [60, 61, 7, 8]);
  cache.dispose();
});

test("reserveForPrompt shifts live columns right when col is too small; contents and lengths survive", () => {
  const cache = smallCache(3, 20);
  prefill(cache, cache.allocate(1), 2, 30);
  decode(cache, 5);
  assert.equal(cache.col, 3);
  const first = keysOf(cache, 0);
  prefill(cache, cache.allocate(1), 6, 40); // needs col ≥ 6
  assert.equal(cache.col, 6);
  assert.deepEqual(keysOf(cache, 0), first);
  assert.deepEqual(keysOf(cache, 1), [40, 41, 42, 43, 44, 45]);
  assert.equal(cache.length(2), 0);
  assert.throws(() => cache.reserveForPrompt(20), /a 20-token prompt does not fit 20 columns/);
  cache.dispose();
});

test("reserveDecodeColumn shifts left at the end of the buffer; the group's prompt boundary moves with it", () => {
  const g = smallCache(3, 10);
  prefill(g, g.allocate(1), 2, 0); // slot 0: columns [0, 2)
  decode(g, 1);
  decode(g, 2); // col 4
  prefill(g, g.allocate(2), 2, 50); // slots 1, 2: a group on columns [2, 4)
  g.release(0); // live columns now start at 2
  for (let i = 0; i < 6; i++) decode(g, 10 + i); // col reaches 10 = the end of the buffer
  assert.equal(g.col, 10);
  const h = decode(g, 16); // shifts the live columns [2, 10) to [0, 8) first
  assert.equal(g.col, 9);
  assert.deepEqual([g.start[1], g.start[2]], [0, 0]);
  assert.ok(h);
  assert.deepEqual(h.rows, [0, 1, 1]);
  assert.deepEqual([h.keys[1], h.keys[2]], [2, 2], "the shared prompt still spans 2 columns after the shift");
  assert.deepEqual(keysOf(g, 2), [50, 51, 10, 11, 12, 13, 14, 15, 16]);
  g.dispose();
  // A sequence that fills every column cannot decode further.
  const full = smallCache(1, 4);
  prefill(full, full.allocate(1), 3, 0);
  decode(full, 1);
  assert.throws(() => full.reserveDecodeColumn(), /fills every column/);
  full.dispose();
});

/** A small deterministic PRNG for the randomized comparisons. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function sameCompletions(a: Completion[], b: Completion[], label: string): void {
  assert.deepEqual(
    a.map((c) => c.tokenIds),
    b.map((c) => c.tokenIds),
    `${label}: tokens`,
  );
  for (let i = 0; i < a.length; i++) {
    for (let t = 0; t < a[i]!.logprobs.length; t++) {
      assert.ok(Math.abs(a[i]!.logprobs[t]! - b[i]!.logprobs[t]!) < 1e-4, `${label}: completion ${i} token ${t}: ${a[i]!.logprobs[t]} vs ${b[i]!.logprobs[t]}`);
    }
  }
}

test("randomized: shared-prefix generation with joins, early stops, moves and shifts equals independent prefill and the training path", async () => {
  const model = debugModel("llama", { seed: 9, initStd: 0.4 });
  // Small batch and cache: groups join mid-run, finished rows are compacted (moves), columns shift.
  const shared = new GenerationEngine({ model, maxBatchSize: 6, maxSeqLen: 40, cacheColumns: 44 });
  const single = new GenerationEngine({ model, maxBatchSize: 6, maxSeqLen: 40, cacheColumns: 44, sharePrefix: false });
  let moves = 0;
  try {
    for (let run = 0; run < 24; run++) {
      const r = rng(run + 1);
      const prompts = Array.from({ length: 3 + Math.floor(r() * 5) }, () => Array.from({ length: 1 + Math.floor(r() * 12) }, () => 1 + Math.floor(r() * 60)));
      const params = {
        temperature: 0.7 + r(),
        maxTokens: 6 + Math.floor(r() * 14),
        n: 2 + Math.floor(r() * 3),
        seed: run,
        stopTokenIds: Array.from({ length: 6 }, () => Math.floor(r() * 64)),
        ignoreEos: true,
      };
      const requests = prompts.map((prompt) => ({ prompt }));
      const a = await shared.generate(requests, params);
      const b = await single.generate(requests, params);
      sameCompletions(a, b, `run ${run}`);
      if (new Set(a.map((c) => c.tokenIds.length)).size > 1) moves++;
      // Teacher-forced scoring of each sequence alone, at the sampling temperature.
      for (const c of a) {
        const ref = torch.tidy(() => torch.noGrad(() => model.sequenceLogprobs(torch.tensor([[...c.promptIds, ...c.tokenIds]]), { temperature: params.temperature })).toFlatArray().slice(c.promptIds.length - 1));
        for (let t = 0; t < ref.length; t++) assert.ok(Math.abs(ref[t]! - c.logprobs[t]!) < 1e-4, `run ${run}: training-path logprob differs at token ${t}`);
      }
    }
    assert.ok(moves >= 4, `want runs whose samples stop at different times (got ${moves})`);
  } finally {
    shared.dispose();
    single.dispose();
    model.dispose();
  }
});

test("construction, allocation and release: layers and dtype as asked, contiguous runs preferred, too many slots refused", () => {
  const before = torch.memory().numTensors;
  {
    using cache = new KvCache({ numLayers: 3, numSlots: 4, numKvHeads: 2, headDim: 4, columns: 8, dtype: "float64" });
    assert.equal(cache.keys.length, 3);
    assert.equal(cache.values.length, 3);
    assert.equal(cache.dtype, "float64");
    assert.deepEqual(cache.keys[0]!.shape, [4, 2, 8, 4]);
    assert.equal(cache.values[2]!.dtype, "float64");
    assert.deepEqual(cache.allocate(1), [0]);
    assert.deepEqual(cache.allocate(1), [1]);
    cache.release(0);
    assert.equal(cache.numFree, 3);
    // Free: 0, 2, 3 → a run of two is 2, 3 (not 0, 2).
    assert.deepEqual(cache.allocate(2), [2, 3]);
    assert.equal(cache.batchRows, 4);
    assert.throws(() => cache.allocate(2), /KvCache.allocate: 2 slots requested, 1 free/);
    assert.deepEqual(cache.allocate(1), [0]);
    assert.throws(() => cache.move(1, 2), /slot 1 must be live and slot 2 free/, "both live");
    cache.release(1);
    cache.release(2);
    assert.throws(() => cache.move(1, 2), /slot 1 must be live and slot 2 free/, "both free");
    assert.equal(cache.batchRows, 4);
    cache.release(3);
    assert.equal(cache.batchRows, 1);
  }
  assert.equal(torch.memory().numTensors, before, "dispose frees every cache tensor");
  const zero = smallCache(2, 4);
  zero.dispose();
  assert.equal(torch.memory().numTensors, before);
});

test("no shared prompt, no hint; a prompt that fits does not move the columns", () => {
  const cache = smallCache(3, 16);
  prefill(cache, cache.allocate(1), 3, 0);
  prefill(cache, cache.allocate(1), 2, 10);
  assert.equal(decode(cache, 5), null, "single-sample prompts share nothing");
  assert.equal(cache.col, 4);
  prefill(cache, cache.allocate(1), 4, 20); // col 4 ≥ 4: written in place
  assert.equal(cache.col, 4);
  assert.deepEqual(keysOf(cache, 0), [0, 1, 2, 5]);
  assert.deepEqual(keysOf(cache, 2), [20, 21, 22, 23]);
  cache.dispose();
});

test("a zero-layer cache (a model without layers) decodes with shared prompts", () => {
  const cache = new KvCache({ numLayers: 0, numSlots: 3, numKvHeads: 1, headDim: 2, columns: 8 });
  assert.equal(cache.dtype, "float32");
  const slots = cache.allocate(2);
  cache.reserveForPrompt(2);
  cache.prefillHook(slots, 2);
  cache.reserveDecodeColumn();
  const hook = cache.decodeHook(cache.batchRows);
  assert.equal(typeof hook.update, "function");
  cache.advance();
  assert.equal(cache.length(1), 3);
  cache.dispose();
});
