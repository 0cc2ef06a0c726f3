/**
 * Where a decode step's time goes: wraps every function of the native addon with a wall-clock
 * timer, runs one generate call (B=64 samples of one 32-token prompt, 32 new tokens) on the
 * 100M-parameter Llama shape of bench/generation.ts, and prints milliseconds per step spent in
 * each native function, plus the JavaScript time between calls. Prints numbers; asserts nothing.
 *
 * Run: node --single-threaded-gc --import tsx bench/decode-profile.ts [--pack] [--dtype float32|bfloat16]
 */
import { native } from "../src/torch/native.ts";

// Wrap before anything else calls the addon.
const time = new Map<string, number>();
const calls = new Map<string, number>();
const addon = native as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(addon)) {
  if (typeof fn !== "function") continue;
  const f = fn as (...a: unknown[]) => unknown;
  addon[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    try {
      return f(...a);
    } finally {
      time.set(name, (time.get(name) ?? 0) + performance.now() - t0);
      calls.set(name, (calls.get(name) ?? 0) + 1);
    }
  };
}

const { F, torch } = await import("../src/torch/index.ts");
const { debugConfig, randomModel } = await import("../src/models/index.ts");
const { GenerationEngine } = await import("../src/generation/index.ts");

const args = process.argv.slice(2);
const dtypeArg = args.includes("--dtype") ? args[args.indexOf("--dtype") + 1] : "float32";
if (dtypeArg !== "float32" && dtypeArg !== "bfloat16") throw new Error("--dtype must be float32 or bfloat16");
const config = debugConfig("llama", { vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false });
const model = randomModel(config, { seed: 0, initStd: 0.02, dtype: dtypeArg });
const engine = new GenerationEngine({ model, maxBatchSize: 64, maxSeqLen: 256, packWeights: args.includes("--pack") });
const prompt = Array.from({ length: 32 }, (_, j) => (131 + j * 17 + 3) % 32000);
await engine.generate([prompt], { n: 4, maxTokens: 4, seed: 0, ignoreEos: true }); // warm-up: cache, packs

const steps = 32;
time.clear();
calls.clear();
const fused0 = F.fusedKernelCalls();
const t0 = performance.now();
await engine.generate([prompt], { n: 64, maxTokens: steps + 1, seed: 1, ignoreEos: true });
const wall = performance.now() - t0;
const inNative = [...time.values()].reduce((a, b) => a + b, 0);
const fused1 = F.fusedKernelCalls();
console.log(`${dtypeArg}${engine.weightsPacked ? ", packed weights" : ""}, threads ${torch.getNumThreads()}: ${(wall / steps).toFixed(1)} ms per step (one packing and one prefill spread over ${steps} steps)`);
console.log(`  in native calls ${(inNative / steps).toFixed(1)} ms, JavaScript between them ${((wall - inNative) / steps).toFixed(1)} ms; ${([...calls.values()].reduce((a, b) => a + b, 0) / steps).toFixed(0)} native calls per step`);
for (const [name, ms] of [...time].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
  console.log(`  ${name.padEnd(20)} ${(ms / steps).toFixed(2).padStart(7)} ms/step  (${((calls.get(name) ?? 0) / steps).toFixed(1)} calls)`);
}
console.log(`  fused kernels run: attention ${fused1.attention - fused0.attention}, rmsNorm ${fused1.rmsNorm - fused0.rmsNorm}, rotary ${fused1.rotary - fused0.rotary}, siluMul ${fused1.siluMul - fused0.siluMul}`);
engine.dispose();
model.dispose();
