import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DatasetFieldError,
  DatasetNotFoundError,
  EpochSampler,
  GSM8K_SYSTEM_PROMPT,
  loadGsm8k,
  parseGsm8kAnswer,
  streamGsm8k,
} from "../../src/data/index.ts";
import { MathReward } from "../../src/rewards/index.ts";
import { gsm8kDir, gsm8kMissing } from "../fixtures/datasets.ts";

const REAL_DIR = gsm8kDir();

test("parseGsm8kAnswer takes the number after ####, without commas or $", () => {
  assert.deepEqual(parseGsm8kAnswer("a\nb\n#### 1,234"), { solution: "a\nb", target: "1234", answer: 1234 });
  assert.deepEqual(parseGsm8kAnswer("x #### -3.5"), { solution: "x", target: "-3.5", answer: -3.5 });
  assert.throws(() => parseGsm8kAnswer("no marker", "f:3"), (e: unknown) => e instanceof DatasetFieldError && /^f:3: field 'answer'/.test(e.message));
  assert.throws(() => parseGsm8kAnswer("#### many"), /a number after '####'/);
  assert.throws(() => parseGsm8kAnswer(7), /must be a string/);
});

test("loads a local JSONL split; record errors name file, line and field", async () => {
  const dir = mkdtempSync(join(tmpdir(), "forge-gsm8k-"));
  try {
    writeFileSync(
      join(dir, "train.jsonl"),
      [
        JSON.stringify({ question: "1+1?", answer: "1+1=<<1+1=2>>2\n#### 2" }),
        JSON.stringify({ question: "Big?", answer: "#### 1,000" }),
      ].join("\n"),
    );
    writeFileSync(join(dir, "test.jsonl"), `${JSON.stringify({ question: "Q", answer: "A" })}\n`);
    const train = await loadGsm8k({ dir, formatPrompt: (q) => `Q: ${q}` });
    assert.deepEqual(train[0], {
      id: "gsm8k/train/1",
      prompt: "Q: 1+1?",
      target: "2",
      question: "1+1?",
      solution: "1+1=<<1+1=2>>2",
      answer: 2,
    });
    assert.equal(train[1].target, "1000");
    assert.equal((await loadGsm8k({ dir, limit: 1 })).length, 1);
    await assert.rejects(loadGsm8k({ dir, split: "test" }), (e: unknown) => e instanceof DatasetFieldError && e.message.includes("test.jsonl:1: field 'answer'"));
    await assert.rejects(loadGsm8k({ dir: join(dir, "nope") }), DatasetNotFoundError);
    rmSync(join(dir, "test.jsonl"));
    writeFileSync(join(dir, "test-00000-of-00001.parquet"), "");
    await assert.rejects(loadGsm8k({ dir, split: "test" }), /test-00000-of-00001.parquet: not a readable Parquet file with 'question' and 'answer' columns/);
    await assert.rejects(loadGsm8k({ dir, split: "dev" as never }), /'split'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("real GSM8K: every example loads, targets are numbers, the reference solution scores 1", async (t) => {
  const missing = gsm8kMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const testSplit = await loadGsm8k({ dir: REAL_DIR, split: "test" });
  assert.equal(testSplit.length, 1319);
  const reward = new MathReward();
  for (const e of testSplit) {
    assert.ok(Number.isFinite(e.answer) && e.target === String(e.answer), e.id);
    assert.equal(reward.evaluate(e.prompt, `<think>${e.solution}</think><answer>${e.target}</answer>`, e.target), 1, e.id);
  }
  let count = 0;
  for await (const e of streamGsm8k({ dir: REAL_DIR, split: "train", limit: 50 })) count += e.prompt.length > 0 ? 1 : 0;
  assert.equal(count, 50);
  // Sampling over the split is seeded and reproducible.
  const order = new EpochSampler({ size: testSplit.length, seed: 0 }).nextBatch(4);
  assert.deepEqual(new EpochSampler({ size: testSplit.length, seed: 0 }).nextBatch(4), order);
  assert.match(GSM8K_SYSTEM_PROMPT, /<answer>/);
});
