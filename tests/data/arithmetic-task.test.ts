import { test } from "node:test";
import assert from "node:assert/strict";
import { ArithmeticTask, DataOptionError, formatArithmeticSolution, type ArithmeticProblem } from "../../src/data/index.ts";
import { FormatReward, MathReward, ThinkingReward } from "../../src/rewards/index.ts";

test("levels enumerate the whole space into disjoint train/test splits", () => {
  const sizes = { "add-1d": 100, "addsub-1d": 155, "add-small": 400, "add-2d": 10_000, "addsub-2d": 15_050 } as const;
  for (const [level, size] of Object.entries(sizes)) {
    const task = new ArithmeticTask({ level: level as keyof typeof sizes });
    assert.equal(task.train.length + task.test.length, size, level);
    assert.equal(task.test.length, Math.round(size * 0.1), level);
    const trainIds = new Set(task.train.map((e) => e.id));
    assert.equal(trainIds.size, task.train.length);
    assert.ok(task.test.every((e) => !trainIds.has(e.id)), `${level}: test overlaps train`);
  }
});

test("generation is deterministic per seed and differs across seeds", () => {
  const a = new ArithmeticTask({ level: "addsub-2d", seed: 5 });
  const b = new ArithmeticTask({ level: "addsub-2d", seed: 5 });
  const c = new ArithmeticTask({ level: "addsub-2d", seed: 6 });
  assert.deepEqual(a.test, b.test);
  assert.deepEqual(a.train.slice(0, 20), b.train.slice(0, 20));
  assert.notDeepEqual(a.test.map((e) => e.id), c.test.map((e) => e.id));
});

test("prompts are short, targets are correct numbers, no negative results", () => {
  const task = new ArithmeticTask({ level: "addsub-2d" });
  for (const e of [...task.train, ...task.test]) {
    const { a, b, op } = e.problem;
    assert.equal(e.answer, op === "+" ? a + b : a - b);
    assert.equal(e.target, String(e.answer));
    assert.ok(e.answer >= 0);
    assert.ok(e.prompt.length <= 14, e.prompt);
  }
  assert.equal(new ArithmeticTask({ level: "add-1d", testSize: 3 }).test[0].prompt.match(/^What is \d\+\d\?$/)?.length, 1);
});

test("formatted solutions score full reward; wrong answers do not", () => {
  const math = new MathReward();
  const thinking = new ThinkingReward();
  const format = new FormatReward();
  const task = new ArithmeticTask({ level: "addsub-2d", seed: 1 });
  for (const style of ["short", "steps"] as const) {
    for (const e of task.test.slice(0, 300)) {
      const response = formatArithmeticSolution(e.problem, { style });
      assert.equal(math.evaluate(e.prompt, response, e.target), 1, response);
      assert.equal(thinking.evaluate(e.prompt, response), 1);
      assert.equal(format.evaluate(e.prompt, response), 1);
    }
  }
  const e = task.test[0];
  assert.equal(math.evaluate(e.prompt, `<answer>${e.answer + 1}</answer>`, e.target), 0);
});

test("column steps show carries and borrows", () => {
  const p = (a: number, op: "+" | "-", b: number): ArithmeticProblem => ({ a, b, op, answer: op === "+" ? a + b : a - b });
  assert.equal(formatArithmeticSolution(p(23, "+", 58)), "<think>23+58=81</think><answer>81</answer>");
  assert.equal(formatArithmeticSolution(p(23, "+", 58), { style: "steps" }), "<think>3+8=11,2+5+1=8</think><answer>81</answer>");
  assert.equal(formatArithmeticSolution(p(95, "+", 17), { style: "steps" }), "<think>5+7=12,9+1+1=11</think><answer>112</answer>");
  assert.equal(formatArithmeticSolution(p(52, "-", 17), { style: "steps" }), "<think>12-7=5,4-1=3</think><answer>35</answer>");
  assert.equal(formatArithmeticSolution(p(100, "-", 1), { style: "steps" }), "<think>10-1=9,9-0=9,0-0=0</think><answer>99</answer>");
  assert.equal(formatArithmeticSolution(p(7, "+", 5), { style: "steps" }), "<think>7+5=12</think><answer>12</answer>");
});

test("sftRecords pair prompts with correct responses", () => {
  const task = new ArithmeticTask({ level: "add-1d", seed: 2 });
  const records = task.sftRecords("train");
  assert.equal(records.length, task.train.length);
  assert.equal(records[0].prompt, task.train[0].prompt);
  assert.match(records[0].response, /^<think>\d\+\d=\d+<\/think><answer>\d+<\/answer>$/);
});

test("invalid options name the option", () => {
  const bad = (options: ConstructorParameters<typeof ArithmeticTask>[0], option: string) =>
    assert.throws(() => new ArithmeticTask(options), (e: unknown) => e instanceof DataOptionError && e.message.includes(`'${option}'`));
  bad({ level: "hard" as never }, "level");
  bad({ maxOperand: 1000 }, "maxOperand");
  bad({ minOperand: 5, maxOperand: 4 }, "maxOperand");
  bad({ operations: ["*" as never] }, "operations");
  bad({ testFraction: 1 }, "testFraction");
  bad({ level: "add-1d", testSize: 100 }, "testSize");
  bad({ seed: 1.5 }, "seed");
  assert.throws(() => new ArithmeticTask().split("dev" as never), /'split'/);
});

test("custom ranges and prompt formats", () => {
  const task = new ArithmeticTask({ minOperand: 10, maxOperand: 19, operations: ["-"], testSize: 5, formatPrompt: (p) => `${p.a}${p.op}${p.b}=` });
  assert.equal(task.train.length + task.test.length, 55);
  assert.match(task.test[0].prompt, /^1\d-1\d=$/);
});

test("add-small: sums of operands 0..19 only", () => {
  const task = new ArithmeticTask({ level: "add-small", testSize: 100 });
  assert.equal(task.test.length, 100);
  for (const e of [...task.train, ...task.test]) {
    assert.ok(e.problem.op === "+" && e.problem.a <= 19 && e.problem.b <= 19, e.id);
    assert.equal(e.answer, e.problem.a + e.problem.b);
  }
});
