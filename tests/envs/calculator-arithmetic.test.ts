import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinEnvironment, calculatorArithmetic, extractNumericAnswer, numericAnswerReward } from "../../src/envs/index.ts";
import { MultiplicationTask } from "../../src/data/index.ts";

const task = new MultiplicationTask({ level: "mul-3x2", testSize: 50 }).test[0]!;

test("answer extraction: <answer> first, else the last number", () => {
  assert.equal(extractNumericAnswer("x <answer> 5535 </answer> 7"), "5535");
  assert.equal(extractNumericAnswer("so 123*45 is 5,535."), "5,535");
  assert.equal(extractNumericAnswer("no idea"), undefined);
  assert.equal(numericAnswerReward("<answer>5535</answer>", "5535"), 1);
  assert.equal(numericAnswerReward("the result is 5535", "5535"), 1);
  assert.equal(numericAnswerReward("<answer>5536</answer> 5535", "5535"), 0);
  assert.equal(numericAnswerReward("", "5535"), 0);
});

test("calculator-arithmetic: call the calculator, read the result, answer → reward 1", async () => {
  const env = builtinEnvironment("calculator-arithmetic")();
  const reset = await env.reset(task);
  assert.deepEqual(reset.messages, [{ role: "user", content: task.prompt }]);
  assert.deepEqual(reset.tools!.map((t) => t.function.name), ["calculator"]);
  const { a, b } = task.problem;
  const s1 = await env.step({ role: "assistant", content: "", tool_calls: [{ id: "call_0", type: "function", function: { name: "calculator", arguments: JSON.stringify({ expression: `${a}*${b}` }) } }] });
  assert.equal(s1.done, false);
  assert.equal(s1.messages![0]!.content, task.target);
  const s2 = await env.step({ role: "assistant", content: `<answer>${s1.messages![0]!.content}</answer>` });
  assert.deepEqual([s2.done, s2.reward], [true, 1]);
  assert.deepEqual(s2.info, { turns: 2, toolCalls: 1, toolErrors: 0 });
});

test("calculator-arithmetic: a wrong guess scores 0; turns run out after maxTurns", async () => {
  const env = calculatorArithmetic({ maxTurns: 2 })();
  await env.reset(task);
  const guess = await env.step({ role: "assistant", content: `<answer>${Number(task.target) + 1}</answer>` });
  assert.deepEqual([guess.done, guess.reward], [true, 0]);
  await env.reset(task);
  const bad = { role: "assistant" as const, content: "", tool_calls: [{ id: "c", type: "function" as const, function: { name: "calculator", arguments: '{"expression": "two times three"}' } }] };
  const s1 = await env.step(bad);
  assert.match(s1.messages![0]!.content, /^error: calculator failed: unexpected "t"/);
  assert.ok(s1.messages![0]!.content.length <= 80);
  const s2 = await env.step(bad);
  assert.deepEqual([s2.done, s2.truncated, s2.reward], [true, true, 0]);
  assert.throws(() => builtinEnvironment("chess"), /one of calculator-arithmetic/);
});
