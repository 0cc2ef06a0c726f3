/**
 * Matmul throughput, fp32 and bf16: 1024², 2048², batched (32,256,256). GFLOP/s = 2·M·N·K / t.
 *   node --import tsx bench/torch-matmul.ts
 */
import { torch } from "../src/torch/index.ts";
import { emit, timeMs } from "./torch-common.ts";

const cases: { name: string; a: number[]; b: number[]; flops: number; iters: number }[] = [
  { name: "1024^2", a: [1024, 1024], b: [1024, 1024], flops: 2 * 1024 ** 3, iters: 20 },
  { name: "2048^2", a: [2048, 2048], b: [2048, 2048], flops: 2 * 2048 ** 3, iters: 6 },
  { name: "bmm(32,256,256)", a: [32, 256, 256], b: [32, 256, 256], flops: 32 * 2 * 256 ** 3, iters: 20 },
];

for (const dtype of ["float32", "bfloat16"] as const) {
  for (const c of cases) {
    const [a, b] = torch.tidy(() => [torch.randn(c.a).to(dtype), torch.randn(c.b).to(dtype)]);
    const ms = timeMs(() => a!.matmul(b!).dispose(), dtype === "bfloat16" && c.name === "2048^2" ? 4 : c.iters);
    emit("matmul", `${dtype} ${c.name}`, c.flops / (ms / 1e3) / 1e9, "GFLOP/s");
    a!.dispose();
    b!.dispose();
  }
}
