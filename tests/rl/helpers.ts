/** Shared test helpers for tests/rl. */
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";

type Nested = number | Nested[];

export function assertClose(actual: Nested, expected: Nested, tol = 1e-9, path = ""): void {
  if (typeof expected === "number") {
    assert.equal(typeof actual, "number", `${path}: expected a number`);
    const a = actual as number;
    if (Number.isNaN(expected)) return assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    assert.ok(Math.abs(a - expected) <= tol * Math.max(1, Math.abs(expected)), `${path}: ${a} != ${expected} (tol ${tol})`);
    return;
  }
  assert.ok(Array.isArray(actual) && actual.length === expected.length, `${path}: length ${Array.isArray(actual) ? actual.length : "-"} != ${expected.length}`);
  expected.forEach((e, i) => assertClose((actual as Nested[])[i]!, e, tol, `${path}[${i}]`));
}

export const f64 = (x: Nested, requiresGrad = false): Tensor => torch.tensor(x, { dtype: "float64", requiresGrad });

/** Runs `fn` and asserts that it leaves no extra live tensors behind. */
export function assertNoLeak<T>(fn: () => T): T {
  const before = torch.memory().numTensors;
  const out = fn();
  assert.equal(torch.memory().numTensors, before, "tensors leaked");
  return out;
}

/** Reads and disposes `t.grad`, then clears it. */
export function takeGrad(t: Tensor): Nested {
  const g = t.grad;
  assert.ok(g, "expected a gradient");
  const v = g.toArray();
  g.dispose();
  t.grad = null;
  return v;
}
