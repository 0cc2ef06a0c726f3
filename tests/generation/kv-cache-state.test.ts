// KvCache bookkeeping that the decode results alone do not show: which rows the shared-prefix
// hint treats as a group (never slots that were only allocated or were released, never a
// one-sample prompt, never rows past decodeHook's `rows`), prefill into slots listed in any
// order, and reserveForPrompt moving columns only when the prompt does not fit or no decode
// column is left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";
import { KvCache } from "../../src/generation/index.ts";
import { prefill, smallCache } from "./kv-cache-fixtures.ts";

torch.setNumThreads(1);



const keysOf = (cache: KvCache, slot: number): number[] =>
  torch.tidy(() => cache.keys[0]!.narrow(0, slot, 1).narrow(2, cache.start[slot]!, cache.length(slot)).toFlatArray());

/** One decode step over rows [0, rows) (default: batchRows); returns the shared-prefix hint. */
function decode(cache: KvCache, rows = cache.batchRows): { rows: number[]; keys: number[] } | null {
  cache.reserveDecodeColumn();
  const hook = cache.decodeHook(rows);
  const out = torch.tidy(() => {
    const k = torch.full([rows, 1, 1, 1], 7, { dtype: "float32" });
    const sp = hook.update(0, k, k).sharedPrefix as { rows: Tensor; keys: Tensor } | null | undefined;
    return sp ? { rows: sp.rows.toFlatArray(), keys: sp.keys.toFlatArray() } : null;
  });
  cache.advance();
  return out;
}

test("slots only allocated, or released and allocated again, share no prompt", () => {
  const cache = smallCache(2, 16);
  assert.deepEqual(cache.allocate(2), [0, 1]);
  assert.equal(decode(cache), null, "fresh slots");
  prefill(cache, [0, 1], 3, 10);
  assert.ok(decode(cache), "a shared prompt");
  cache.release(0);
  cache.release(1);
  assert.deepEqual(cache.allocate(2), [0, 1]);
  assert.equal(decode(cache), null, "released slots left their group");
  cache.dispose();
});

test("a one-sample prompt beside a shared one is its own row with no shared columns", () => {
  const cache = smallCache(3, 16);
  cache.allocate(3);
  prefill(cache, [0, 1], 3, 10);
  prefill(cache, [2], 2, 20);
  const hint = decode(cache);
  assert.deepEqual(hint, { rows: [0, 0, 2], keys: [3, 3, 0] });
  cache.dispose();
});

test("decodeHook(rows) looks only at rows [0, rows)", () => {
  const cache = smallCache(2, 16);
  cache.allocate(2);
  prefill(cache, [0, 1], 3, 10);
  assert.equal(decode(cache, 1), null, "slot 1 shares slot 0's prompt but is not in the batch");
  cache.dispose();
});

test("prefillHook writes every listed slot, in any order", () => {
  const cache = smallCache(3, 16);
  cache.allocate(2);
  prefill(cache, [1, 0], 3, 10);
  assert.deepEqual(keysOf(cache, 0), [10, 11, 12]);
  assert.deepEqual(keysOf(cache, 1), [10, 11, 12]);
  assert.deepEqual(torch.tidy(() => cache.keys[0]!.narrow(0, 2, 1).abs().sum().item()), 0, "slot 2 untouched");
  cache.dispose();
});

test("reserveForPrompt moves columns only when the prompt does not fit or no decode column is left", () => {
  const cache = smallCache(2, 8);
  cache.allocate(2);
  prefill(cache, [0], 3, 10); // col 3, slot 0 at [0, 3)
  prefill(cache, [1], 2, 20); // fits before col 3: slot 1 at [1, 3)
  assert.deepEqual([cache.col, cache.start[0], cache.start[1]], [3, 0, 1]);
  cache.release(0); // live columns now [1, 3)
  cache.reserveForPrompt(2);
  assert.deepEqual([cache.col, cache.start[1]], [3, 1], "a prompt that fits moves nothing");
  assert.deepEqual(keysOf(cache, 1), [20, 21]);
  // Fill every column, then free the only sequence: a new prompt must leave a decode column.
  for (let i = 0; i < 5; i++) decode(cache);
  assert.equal(cache.col, 8);
  cache.release(1);
  cache.reserveForPrompt(2);
  assert.ok(cache.col < cache.columns, `col ${cache.col} leaves no decode column`);
  assert.equal(cache.col, 2);
  cache.dispose();
});
