import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigInterpolationError, resolveInterpolations } from "../../src/config/index.ts";

describe("resolveInterpolations", () => {
  test("whole-value references keep their type; embedded ones stringify", () => {
    const out = resolveInterpolations({
      group_size: 8,
      model: "Qwen/Qwen3-1.7B",
      policy: { n: "${group_size}", path: "hf://${model}", label: "g${group_size}-${policy.n}" },
      copy: "${policy}",
      list: ["${group_size}", 2],
      first: "${list.0}",
    });
    assert.deepEqual(out, {
      group_size: 8,
      model: "Qwen/Qwen3-1.7B",
      policy: { n: 8, path: "hf://Qwen/Qwen3-1.7B", label: "g8-8" },
      copy: { n: 8, path: "hf://Qwen/Qwen3-1.7B", label: "g8-8" },
      list: [8, 2],
      first: 8,
    });
  });
  test("chains of references resolve", () => {
    assert.deepEqual(resolveInterpolations({ a: "${b}", b: "${c}", c: true }), { a: true, b: true, c: true });
  });
  test("environment references with and without defaults", () => {
    const env = { USER: "ada" };
    const out = resolveInterpolations({ g: "grpo_${oc.env:USER}", h: "${env:HOME_X,/tmp/x}", n: "${oc.env:NOPE,}" }, { env });
    assert.deepEqual(out, { g: "grpo_ada", h: "/tmp/x", n: "" });
    assert.throws(() => resolveInterpolations({ g: "${oc.env:NOPE}" }, { env }), (e: unknown) => e instanceof ConfigInterpolationError && /NOPE is not set/.test(e.message) && e.path === "g");
  });
  test("escaped \\${ stays literal", () => {
    assert.deepEqual(resolveInterpolations({ a: "cost \\${x}" }), { a: "cost ${x}" });
  });
  test("unknown key names the referring path and the reference", () => {
    assert.throws(
      () => resolveInterpolations({ training: { lr: "${optim.lr}" } }),
      (e: unknown) => e instanceof ConfigInterpolationError && e.path === "training.lr" && /\$\{optim\.lr\} refers to a key that does not exist/.test(e.message),
    );
  });
  test("cycles are a clear error listing the cycle", () => {
    assert.throws(() => resolveInterpolations({ a: "${b}", b: "${a}" }), /reference cycle: a -> b -> a/);
    assert.throws(() => resolveInterpolations({ a: "x${a}" }), /reference cycle: a -> a/);
    assert.throws(() => resolveInterpolations({ s: { k: "${s}" } }), /reference cycle: s -> s\.k -> s/);
  });
  test("malformed references", () => {
    assert.throws(() => resolveInterpolations({ a: "${}" }), /not a dotted key/);
    assert.throws(() => resolveInterpolations({ a: "x ${b" , b: 1 }), /unterminated/);
    assert.throws(() => resolveInterpolations({ a: "x ${b}", b: { c: 1 } }), /cannot be embedded/);
  });
});
