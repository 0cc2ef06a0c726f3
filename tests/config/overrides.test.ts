import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyOverrides, ConfigOverrideError, parseOverrides, parseOverrideValue } from "../../src/config/index.ts";

describe("parseOverrideValue", () => {
  test("reads numbers, booleans, null, lists and strings", () => {
    assert.equal(parseOverrideValue("3e-6"), 3e-6);
    assert.equal(parseOverrideValue("4"), 4);
    assert.equal(parseOverrideValue("-0.5"), -0.5);
    assert.equal(parseOverrideValue("true"), true);
    assert.equal(parseOverrideValue("false"), false);
    assert.equal(parseOverrideValue("null"), null);
    assert.deepEqual(parseOverrideValue("[a,b]"), ["a", "b"]);
    assert.deepEqual(parseOverrideValue("[1, 2.5]"), [1, 2.5]);
    assert.equal(parseOverrideValue("Qwen/Qwen3-1.7B"), "Qwen/Qwen3-1.7B");
    assert.equal(parseOverrideValue("'007'"), "007");
    assert.equal(parseOverrideValue(""), "");
    assert.equal(parseOverrideValue("${model}"), "${model}");
  });
  test("unbalanced list is a ConfigOverrideError", () => {
    assert.throws(() => parseOverrideValue("[a,b", { source: "x=[a,b" }), (e: unknown) => e instanceof ConfigOverrideError && /x=\[a,b/.test(e.message));
  });
});

describe("parseOverrides", () => {
  test("accepts every spelling", () => {
    const ovs = parseOverrides(["training.learning_rate=3e-6", "--trainer.procs", "4", "--grpo.beta=0", "~services.ref_model", "--training.entropy_coef", "-0.01"]);
    assert.deepEqual(
      ovs.map((o) => [o.kind, o.path.join("."), o.kind === "set" ? o.value : undefined]),
      [
        ["set", "training.learning_rate", 3e-6],
        ["set", "trainer.procs", 4],
        ["set", "grpo.beta", 0],
        ["remove", "services.ref_model", undefined],
        ["set", "training.entropy_coef", -0.01],
      ],
    );
  });
  test("value may contain '='", () => {
    const [ov] = parseOverrides(["dataset.path=a=b"]);
    assert.equal(ov.kind === "set" && ov.value, "a=b");
  });
  const bad: Array<[string[], RegExp]> = [
    [["training.steps"], /expected key=value/],
    [["--training.steps"], /missing value/],
    [["--training.steps", "--grpo.beta=0"], /missing value/],
    [["=3"], /not a dotted path/],
    [["a..b=3"], /not a dotted path/],
    [["a b=3"], /not a dotted path/],
    [["~a.b=3"], /takes no value/],
    [["~"], /not a dotted path/],
  ];
  for (const [args, pattern] of bad) {
    test(`rejects ${JSON.stringify(args)}`, () => {
      assert.throws(() => parseOverrides(args), (e: unknown) => e instanceof ConfigOverrideError && e.name === "ConfigOverrideError" && pattern.test(e.message));
    });
  }
});

describe("applyOverrides", () => {
  const base = { training: { steps: 10 }, services: { ref_model: { procs: 1 }, generator: { procs: 1 } }, model: "m", list: [1, 2, 3] };
  test("sets, creates missing sections, and removes", () => {
    const out = applyOverrides(base, parseOverrides(["training.steps=20", "new.section.key=x", "~services.ref_model", "list.1=9"]));
    assert.deepEqual(out, { training: { steps: 20 }, services: { generator: { procs: 1 } }, model: "m", list: [1, 9, 3], new: { section: { key: "x" } } });
    assert.equal(base.training.steps, 10, "input untouched");
    assert.ok(base.services.ref_model);
  });
  test("later overrides win", () => {
    assert.equal((applyOverrides(base, parseOverrides(["training.steps=1", "--training.steps", "2"])).training as { steps: number }).steps, 2);
  });
  test("removing a missing key is an error naming it", () => {
    assert.throws(() => applyOverrides(base, parseOverrides(["~services.reward"])), /nothing to remove: services\.reward/);
    assert.throws(() => applyOverrides(base, parseOverrides(["~nope.x"])), /nothing to remove: nope/);
  });
  test("setting below a scalar is an error", () => {
    assert.throws(() => applyOverrides(base, parseOverrides(["model.path=x"])), (e: unknown) => e instanceof ConfigOverrideError && /model is a string/.test(e.message));
  });
});
