// One rank of bench/allreduce-bandwidth.ts: times float32 all-reduces of each size through our
// c10d bindings and prints {size, ms} lines (median of ITERS after warm-up).
import { torch, distributed } from "../src/torch/index.ts";

torch.setNumThreads(1);
const group = distributed.initProcessGroup();
const sizes = (process.env.SIZES ?? "1048576,16777216,67108864").split(",").map(Number);
const iters = Number(process.env.ITERS ?? 10);
for (const bytes of sizes) {
  const t = torch.ones([bytes / 4]);
  for (let i = 0; i < 3; i++) group.allReduce(t).waitSync();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    group.barrier().waitSync();
    const t0 = performance.now();
    group.allReduce(t).waitSync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  if (group.rank === 0) console.log(JSON.stringify({ side: "ts", bytes, ms: times[Math.floor(times.length / 2)] }));
  t.dispose();
}
group.destroy();
