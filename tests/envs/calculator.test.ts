import { test } from "node:test";
import assert from "node:assert/strict";
import { CalculatorError, calculatorTool, evaluateArithmetic, formatCalculatorResult } from "../../src/envs/index.ts";

test("evaluates + - * / with precedence, parentheses, unary signs and decimals", () => {
  const cases: [string, number][] = [
    ["123*45", 5535],
    ["2+3*4", 14],
    ["(2+3)*4", 20],
    ["10-4-3", 3],
    ["100/4/5", 5],
    ["-3*-(2+1)", 9],
    ["+7", 7],
    [" 1.5 * 4 ", 6],
    [".5+.25", 0.75],
    ["((((1))))", 1],
    ["7/2", 3.5],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateArithmetic(expr), want, expr);
  // Random products agree with JavaScript's own arithmetic.
  for (let i = 0; i < 50; i++) {
    const a = 100 + ((i * 7919) % 900);
    const b = 10 + ((i * 104729) % 90);
    assert.equal(evaluateArithmetic(`${a}*${b}`), a * b);
  }
});

test("refuses anything that is not arithmetic, saying where", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["2+", /ends too early/],
    ["process.exit()", /unexpected "p" at position 0/],
    ["2**3", /unexpected "\*" at position 2/],
    ["Math.PI", /unexpected "M"/],
    ["1e5", /unexpected "e" at position 1/],
    ["(1+2", /missing '\)'/],
    ["1+2)", /unexpected "\)"/],
    ["1/0", /division by zero/],
    ["1/(2-2)", /division by zero/],
    ["2^3", /unexpected "\^"/],
    ["x", /only numbers, \+ - \* \/ and parentheses/],
    ["(".repeat(200) + "1" + ")".repeat(200), /nested deeper/],
  ];
  for (const [expr, pattern] of bad) assert.throws(() => evaluateArithmetic(expr), (e: unknown) => e instanceof CalculatorError && pattern.test(e.message), expr);
});

test("results read as a model should copy them", () => {
  assert.equal(formatCalculatorResult(5535), "5535");
  assert.equal(formatCalculatorResult(0.1 + 0.2), "0.3");
  assert.equal(formatCalculatorResult(-0 * 1), "0");
  assert.equal(formatCalculatorResult(1 / 3), "0.333333333333");
});

test("the calculator tool: results, and refusals as error messages", async () => {
  assert.deepEqual(await calculatorTool.call('{"expression": "123*45"}'), { content: "5535" });
  const r = await calculatorTool.call('{"expression": "require(\'fs\')"}');
  assert.ok(r.error);
  assert.match(r.content, /^error: calculator failed: unexpected "r"/);
  assert.match((await calculatorTool.call('{"expr": "1+1"}')).content, /expression: expected string/);
  assert.equal(calculatorTool.spec.function.name, "calculator");
  assert.deepEqual(calculatorTool.spec.function.parameters.required, ["expression"]);
});
