/**
 * Allocator probe: logSoftmax over a (1024, 128000) float32 tensor (524 MB in, 524 MB out).
 * Each call allocates a fresh 524 MB result, so the allocator decides whether its pages are
 * faulted in again every time. Prints the first (cold) call and the median of the next 5.
 *   TORCHFORGE_CPU_ALLOCATOR=default|caching TORCHFORGE_HUGEPAGES=0|1 node --import tsx bench/torch-logsoftmax.ts
 */
import { torch } from "../src/torch/index.ts";
import { emit, median } from "./torch-common.ts";

const x = torch.randn([1024, 128000]);
const times: number[] = [];
for (let i = 0; i < 6; i++) {
  const t0 = process.hrtime.bigint();
  x.logSoftmax(-1).dispose();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const mode = process.env.TORCHFORGE_CPU_ALLOCATOR ?? "caching";
const hp = process.env.TORCHFORGE_HUGEPAGES === "1" ? "on" : "off";
emit("logsoftmax", "logSoftmax (1024,128000) f32", median(times.slice(1)), "ms", {
  allocator: mode === "default" ? "default" : `caching, hugepages ${hp}`, firstMs: times[0],
});
