/**
 * Per-op overhead: add of two 4-element float32 tensors, result disposed each time, three ways:
 * explicit dispose, one torch.tidy per op, and one tidy per 100 ops (the usual pattern in a loop).
 *   node --import tsx bench/torch-small-op.ts
 */
import { torch } from "../src/torch/index.ts";
import { emit, median } from "./torch-common.ts";

const N = 100_000;
const a = torch.tensor([1, 2, 3, 4]);
const b = torch.tensor([5, 6, 7, 8]);

function nsPerOp(body: () => void, ops: number): number {
  for (let i = 0; i < 3; i++) body(); // warm-up: JIT and the allocator's free lists
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    body();
    runs.push(Number(process.hrtime.bigint() - t0) / ops);
  }
  return median(runs);
}

emit("small-op", "add 4-elem, dispose()", nsPerOp(() => {
  for (let i = 0; i < N; i++) a.add(b).dispose();
}, N), "ns/op");
emit("small-op", "add 4-elem, tidy per op", nsPerOp(() => {
  for (let i = 0; i < N; i++) torch.tidy(() => { a.add(b); });
}, N), "ns/op");
emit("small-op", "add 4-elem, tidy per 100 ops", nsPerOp(() => {
  for (let i = 0; i < N / 100; i++) torch.tidy(() => { for (let j = 0; j < 100; j++) a.add(b); });
}, N), "ns/op");
