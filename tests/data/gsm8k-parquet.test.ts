import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadGsm8k, gsm8kSplitFile } from "../../src/data/index.ts";

const dir = fileURLToPath(new URL("./fixtures/gsm8k-parquet", import.meta.url));

test("GSM8K loads from the Hub's Parquet layout (main/test-00000-of-00001.parquet)", async () => {
  assert.match(gsm8kSplitFile(dir, "test"), /main\/test-00000-of-00001\.parquet$/);
  const rows = await loadGsm8k({ dir, split: "test" });
  assert.equal(rows.length, 5);
  assert.match(rows[0]!.question, /Janet/);
  assert.equal(rows[0]!.answer, 18);
  assert.equal(rows[0]!.target, "18");
  assert.equal((await loadGsm8k({ dir, split: "test", limit: 2 })).length, 2);
  assert.throws(() => gsm8kSplitFile(dir, "train"), /expected train.jsonl, or train-\*.parquet here or under main\/ or data\//);
});
