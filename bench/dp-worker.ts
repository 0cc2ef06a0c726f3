// One rank of bench/dp-scaling.ts: SFT-style steps of a ~25M-parameter Llama on this rank's share
// of a fixed global batch (GLOBAL_BATCH sequences × SEQ tokens), 1 thread; prints rank 0's median
// step time, the loss trajectory (to check equivalence across world sizes) and peak RSS.
// OVERLAP=0 all-reduces the gradients after backward instead of during it; SHARD=1 shards the
// optimizer state (ZeRO-1, bench/zero1.ts). Peak RSS and optimizer-state MiB are reported per rank.
import { readFileSync } from "node:fs";
import { torch, distributed, DTYPE_SIZE } from "../src/torch/index.ts";
import { debugConfig, randomModel } from "../src/models/index.ts";
import { Trainer, allReduceNumbers, sftLossFn, type SftMicroBatch } from "../src/trainer/index.ts";

torch.setNumThreads(1);
const env = distributed.readTorchrunEnv();
const group = env.worldSize > 1 ? distributed.initProcessGroup() : undefined;
const rank = group?.rank ?? 0;
const world = group?.worldSize ?? 1;
const globalBatch = Number(process.env.GLOBAL_BATCH ?? 8);
const seq = Number(process.env.SEQ ?? 128);
const steps = Number(process.env.STEPS ?? 8);
const model = randomModel(debugConfig("llama", { vocabSize: 8192, hiddenSize: 384, intermediateSize: 1024, numLayers: 6, numHeads: 6, numKvHeads: 2, headDim: 64 }), { seed: 0 });
const trainer = new Trainer<SftMicroBatch>({ model, loss: sftLossFn, optimizer: { lr: 1e-4 }, ...(group ? { processGroup: group, overlapGradReduce: process.env.OVERLAP !== "0", shardOptimizerState: process.env.SHARD === "1" } : {}) });
torch.manualSeed(1234);
const ids = torch.randint(0, 8192, [steps, globalBatch, seq]);
const times: number[] = [];
const losses: number[] = [];
for (let s = 0; s < steps; s++) {
  const per = globalBatch / world;
  const inputIds = torch.tidy(() => ids.select(0, s).narrow(0, rank * per, per).contiguous());
  const lossMask = torch.onesLike(inputIds, { dtype: "float32" });
  const t0 = performance.now();
  const r = trainer.trainStep([{ inputIds, lossMask }]);
  times.push(performance.now() - t0);
  losses.push(r.loss);
  torch.dispose([inputIds, lossMask]);
  if (process.env.PROBE) { const st = readFileSync("/proc/self/status", "utf8"); console.error(`rank ${rank} step ${s} hwm ${Number(/VmHWM:\s+(\d+)/.exec(st)![1]) / 1024} rss ${Number(/VmRSS:\s+(\d+)/.exec(st)![1]) / 1024}`); }
}
const steady = times.slice(2).sort((a, b) => a - b);
const rssMiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const report = trainer.gradReduceReport;
const overlapped = report ? `${report.launchedInBackward}/${report.bucketCount}` : null;
const stateMiB = Object.values(trainer.optimizer.stateDict().state).reduce((n, s) => n + Object.values(s.tensors).reduce((m, t) => m + t.numel * DTYPE_SIZE[t.dtype], 0), 0) / 2 ** 20;
// Every rank's figures, gathered on rank 0 (a zero vector with this rank's entries filled in, summed).
const perRank = (x: number) => (group ? allReduceNumbers(group, Array.from({ length: world }, (_, r) => (r === rank ? x : 0))) : [x]);
const rssByRank = perRank(rssMiB);
const stateMiBByRank = perRank(stateMiB);
if (rank === 0) console.log(JSON.stringify({ world, overlapped, stepMs: steady[Math.floor(steady.length / 2)], losses, rssMiB, rssByRank, stateMiBByRank, params: model.numParameters() }));
group?.destroy();
