/** Shared assertions for tensor tests. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { NestedArray, Tensor } from "../../src/torch/index.ts";

export function flat(x: NestedArray | number[]): number[] {
  return Array.isArray(x) ? (x as NestedArray[]).flatMap((v) => flat(v as NestedArray)) : [x];
}

/** Elementwise |a - b| <= atol + rtol·|b|, with a message naming the first bad index. */
export function assertClose(actual: Tensor | NestedArray, expected: NestedArray, options: { atol?: number; rtol?: number } = {}): void {
  const a = flat(typeof actual === "object" && actual !== null && "toArray" in actual ? actual.toArray() : (actual as NestedArray));
  const e = flat(expected);
  assert.equal(a.length, e.length, `length ${a.length} != expected ${e.length}`);
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]!) && Number.isNaN(e[i]!)) || a[i] === e[i] || Math.abs(a[i]! - e[i]!) <= atol + rtol * Math.abs(e[i]!);
    assert.ok(ok, `index ${i}: got ${a[i]}, expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

export function golden(): Record<string, any> {
  return JSON.parse(readFileSync(new URL("./fixtures/golden.json", import.meta.url), "utf8"));
}
