/**
 * Generation throughput: prefill tokens/s, decode tokens/s at batch 1/16/64, and generated
 * tokens/s on a GRPO-like workload (16 prompts × n=8, 128 new tokens, random stop ids so lengths
 * vary), for the tiny debug model and a small Llama-shaped one (random weights). Prints numbers;
 * asserts nothing. With --python it also runs bench/generation_torch.py (PyTorch eager, static
 * KV cache, no continuous batching) on the same model shape and workload.
 *
 * Run: node --single-threaded-gc --import tsx bench/generation.ts [--model tiny|small|100m] [--threads 2]
 *        [--dtype float32|bfloat16] [--pack] [--peak GFLOPS] [--python]
 */
import { spawnSync } from "node:child_process";
import { nn, torch, type DType } from "../src/torch/index.ts";
import { debugConfig, randomModel, type ModelConfig } from "../src/models/index.ts";
import { GenerationEngine } from "../src/generation/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const which = opt("model", "small");
const threads = Number(opt("threads", String(torch.getNumThreads())));
torch.setNumThreads(threads);

const SHAPES: Record<string, ModelConfig> = {
  tiny: debugConfig("qwen3"),
  small: debugConfig("llama", { vocabSize: 8192, hiddenSize: 512, intermediateSize: 1408, numLayers: 8, numHeads: 8, numKvHeads: 4, headDim: 64, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false }),
  "100m": debugConfig("llama", { vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false }),
};
const config = SHAPES[which];
if (!config) throw new Error(`--model must be one of ${Object.keys(SHAPES).join(", ")}`);
const dtype = opt("dtype", "float32") as DType;
if (dtype !== "float32" && dtype !== "bfloat16") throw new Error("--dtype must be float32 or bfloat16");
const model = randomModel(config, { seed: 0, initStd: 0.02, dtype });
const params = model.numParameters();
// Matmul FLOPs per generated token: 2 × the weights that multiply (every linear layer, and the
// LM head; the input embedding is a lookup and norms are elementwise). Attention over the cache
// is left out (~1 % here).
const matmulWeights = [...model.namedModules()].reduce((n, [, m]) => n + (m instanceof nn.Linear ? m.weight.numel : 0), 0) + (config.tieWordEmbeddings ? config.vocabSize * config.hiddenSize : 0);
const flopsPerToken = 2 * matmulWeights;
console.log(`model ${which}: ${(params / 1e6).toFixed(1)}M params (${(matmulWeights / 1e6).toFixed(1)}M in matmuls), ${dtype}, vocab ${config.vocabSize}, ${config.numLayers} layers, threads ${threads}, libtorch ${torch.version()}`);

const PROMPT_LEN = 32;
const prompt = (i: number): number[] => Array.from({ length: PROMPT_LEN }, (_, j) => (i * 131 + j * 17 + 3) % config.vocabSize);
const rate = (tokens: number, ms: number): string => `${((tokens / ms) * 1000).toFixed(0)} tok/s (${((tokens * flopsPerToken) / ms / 1e6).toFixed(2)} GFLOP/s)`;

// Prefill: one 128-token prompt, batch 1, logits for the last position only.
{
  const T = 128;
  const ids = torch.keep(torch.tensor([Array.from({ length: T }, (_, j) => (j * 7) % config.vocabSize)]));
  const run = () => torch.tidy(() => torch.noGrad(() => model.forward(ids, { lastTokenOnly: true })));
  run();
  const reps = which === "tiny" ? 50 : 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  console.log(`prefill   T=${T}: ${rate(T * reps, performance.now() - t0)}`);
  ids.dispose();
}

const packWeights = args.includes("--pack");
const engine = new GenerationEngine({ model, maxBatchSize: 64, maxSeqLen: 256, packWeights });
if (packWeights) console.log(`packed fp32 linear weights: ${engine.weightsPacked ? "yes (MKL packed GEMM)" : "no (needs libtorch with MKL and float32)"}`);
await engine.generate([prompt(0)], { n: 4, maxTokens: 4, seed: 0, ignoreEos: true }); // warm-up, allocates the cache

// Decode: each generate call includes packing (with --pack) and one prefill, so the decode-only
// rate takes the difference between a call making 1 token and one making 1 + 32 (medians of 3).
const peak = Number(opt("peak", "0")); // the machine's fp32 FMA peak, GFLOP/s (bench/fma-peak.c), for % of peak
for (const batch of [1, 16, 64]) {
  const steps = 32;
  const timed = async (maxTokens: number): Promise<{ ms: number; tokens: number }> => {
    const t0 = performance.now();
    const cs = await engine.generate([prompt(1)], { n: batch, maxTokens, seed: 1, ignoreEos: true });
    return { ms: performance.now() - t0, tokens: cs.reduce((a, c) => a + c.tokenIds.length, 0) };
  };
  const whole: number[] = [];
  const first: number[] = [];
  let tokens = 0;
  for (let r = 0; r < 3; r++) {
    first.push((await timed(1)).ms);
    const w = await timed(1 + steps);
    whole.push(w.ms);
    tokens = w.tokens;
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
  const decodeMs = med(whole) - med(first);
  const gflops = (batch * steps * flopsPerToken) / decodeMs / 1e6;
  const ofPeak = peak > 0 ? `, ${((100 * gflops) / peak).toFixed(1)} % of ${peak} GFLOP/s peak` : "";
  console.log(`decode    B=${String(batch).padEnd(2)}: ${rate(batch * steps, decodeMs)} decode only${ofPeak}; ${rate(tokens, med(whole))} incl. packing and one ${PROMPT_LEN}-token prefill`);
}

// GRPO-like (issue 3): 16 prompts × 8 samples, up to 128 new tokens; ~1/128 of the vocab ends a
// sample, so lengths vary. 128 sequences through 64 slots: finished ones make room (continuous batching).
const GRPO = { prompts: 16, n: 8, maxNew: 128 };
const stopTokenIds = Array.from({ length: Math.max(1, Math.floor(config.vocabSize / 128)) }, (_, i) => (i * 977 + 5) % config.vocabSize);
{
  const t0 = performance.now();
  const cs = await engine.generate(Array.from({ length: GRPO.prompts }, (_, i) => prompt(i)), { n: GRPO.n, maxTokens: GRPO.maxNew, temperature: 1, seed: 2, stopTokenIds });
  const ms = performance.now() - t0;
  const tokens = cs.reduce((a, c) => a + c.tokenIds.length, 0);
  const stopped = cs.filter((c) => c.stopReason === "stop").length;
  console.log(`grpo ${GRPO.prompts}x${GRPO.n}, ${GRPO.maxNew} new: ${tokens} tokens in ${ms.toFixed(0)} ms = ${rate(tokens, ms)}; ${stopped}/${cs.length} stopped early`);
}
engine.dispose();
model.dispose();

if (args.includes("--python")) {
  const c = config;
  const r = spawnSync("/usr/bin/python3", ["bench/generation_torch.py", "--vocab", String(c.vocabSize), "--hidden", String(c.hiddenSize), "--inter", String(c.intermediateSize), "--layers", String(c.numLayers), "--heads", String(c.numHeads), "--kv-heads", String(c.numKvHeads), "--head-dim", String(c.headDim), "--qk-norm", c.qkNorm ? "1" : "0", "--threads", String(threads), "--prompt-len", String(PROMPT_LEN), "--prompts", String(GRPO.prompts), "--n", String(GRPO.n), "--max-new", String(GRPO.maxNew), "--stop-ids", stopTokenIds.join(",")], { encoding: "utf8" });
  process.stdout.write(r.stdout);
  if (r.status !== 0) process.stderr.write(r.stderr);
}
