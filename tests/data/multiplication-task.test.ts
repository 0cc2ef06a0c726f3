import { test } from "node:test";
import assert from "node:assert/strict";
import { DataOptionError, MultiplicationTask } from "../../src/data/index.ts";

test("mul-3x2: fixed, disjoint, seeded splits covering the whole space", () => {
  const t = new MultiplicationTask({ level: "mul-3x2", seed: 0, testSize: 500 });
  assert.equal(t.test.length, 500);
  assert.equal(t.train.length + t.test.length, 900 * 90);
  const testIds = new Set(t.test.map((e) => e.id));
  assert.ok(t.train.every((e) => !testIds.has(e.id)));
  const again = new MultiplicationTask({ level: "mul-3x2", seed: 0, testSize: 500 });
  assert.deepEqual(again.test.map((e) => e.id), t.test.map((e) => e.id));
  const other = new MultiplicationTask({ level: "mul-3x2", seed: 1, testSize: 500 });
  assert.notDeepEqual(other.test.map((e) => e.id), t.test.map((e) => e.id));
  for (const e of t.test.slice(0, 50)) {
    const { a, b, answer } = e.problem;
    assert.ok(a >= 100 && a <= 999 && b >= 10 && b <= 99);
    assert.equal(answer, a * b);
    assert.equal(e.prompt, `What is ${a}*${b}?`);
    assert.equal(e.target, String(a * b));
  }
});

test("mul-2x2 and options", () => {
  const t = new MultiplicationTask({ level: "mul-2x2", testSize: 100, formatPrompt: ({ a, b }) => `${a}x${b}=` });
  assert.equal(t.train.length, 8000);
  assert.match(t.split("test")[0]!.prompt, /^\d\dx\d\d=$/);
  assert.throws(() => new MultiplicationTask({ level: "mul-9x9" as never }), DataOptionError);
  assert.throws(() => new MultiplicationTask({ level: "mul-2x2", testSize: 8100 }), /testSize/);
  assert.throws(() => t.split("dev" as never), /split/);
});
