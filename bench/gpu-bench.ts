/**
 * Decode and train-step throughput of this library on one device, for bench/gpu-check.sh; its
 * PyTorch-eager twin is bench/gpu_bench_torch.py (same model shape, same workload, same device).
 *   decode: one prompt of 32 tokens × n=B samples, greedy, 64 new tokens each (ignoring EOS),
 *           through GenerationEngine (KV cache on the device); decode-only time = a 65-token call
 *           minus a 1-token call (medians of 3), as bench/generation.ts measures it.
 *   train:  forward + backward + AdamW over a (B_train, T) batch of random tokens, cross-entropy,
 *           median of 5 steps after 2 warm-up steps.
 * Prints one JSON line: { impl, device, model, decodeTokPerS, trainStepMs, trainTokPerS }.
 *
 * Run: node --import tsx bench/gpu-bench.ts [--device cuda:0|cpu] [--model small|100m|tiny] [--batch 16]
 */
import { F, torch, type Tensor } from "../src/torch/index.ts";
import { debugConfig, randomModel, type CausalLM, type ModelConfig } from "../src/models/index.ts";
import { GenerationEngine } from "../src/generation/index.ts";
import { Trainer } from "../src/trainer/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
export const SHAPES: Record<string, ModelConfig> = {
  tiny: debugConfig("llama", { vocabSize: 512, hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false }), // a smoke test
  small: debugConfig("llama", { vocabSize: 8192, hiddenSize: 512, intermediateSize: 1408, numLayers: 8, numHeads: 8, numKvHeads: 4, headDim: 64, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false }),
  "100m": debugConfig("llama", { vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, maxPositionEmbeddings: 1024, ropeScaling: null, tieWordEmbeddings: false }),
};
const device = opt("device", "cuda:0");
const which = opt("model", "small");
const batch = Number(opt("batch", "16"));
const config = SHAPES[which];
if (!config) throw new Error(`--model must be one of ${Object.keys(SHAPES).join(", ")}`);
if (device !== "cpu" && !torch.cuda.isAvailable()) throw new Error(`--device ${device}: torch.cuda.isAvailable() is false in this addon build`);

const model: CausalLM = randomModel(config, { seed: 0, initStd: 0.02 });
if (device !== "cpu") model.to({ device });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Host reads (toFlatArray) synchronise the device, so wall-clock times are complete.

const PROMPT = Array.from({ length: 32 }, (_, j) => (j * 17 + 3) % config.vocabSize);
const STEPS = 64;
const engine = new GenerationEngine({ model, maxBatchSize: batch, maxSeqLen: 128 });
await engine.generate([PROMPT], { n: batch, maxTokens: 4, greedy: true, ignoreEos: true }); // warm-up
const timed = async (maxTokens: number): Promise<number> => {
  const t0 = performance.now();
  await engine.generate([PROMPT], { n: batch, maxTokens, greedy: true, ignoreEos: true });
  return performance.now() - t0;
};
const whole: number[] = [];
const first: number[] = [];
for (let r = 0; r < 3; r++) {
  first.push(await timed(1));
  whole.push(await timed(1 + STEPS));
}
const decodeMs = median(whole) - median(first);
const decodeTokPerS = (batch * STEPS * 1000) / decodeMs;
engine.dispose();

// Train step.
const TRAIN_B = 8;
const TRAIN_T = 256;
interface Batch {
  ids: Tensor;
  targets: Tensor;
}
const trainer = new Trainer<Batch, CausalLM>({
  model,
  loss: ({ model: m, batch: b }) => {
    const logits = m.forward(b.ids);
    return { loss: F.crossEntropy(logits.reshape(-1, config.vocabSize), b.targets.reshape(-1)) };
  },
  optimizer: { lr: 1e-4 },
  countTokens: (b) => ({ tokens: b.targets.numel, sequences: TRAIN_B }),
  warn: () => {},
});
torch.manualSeed(1);
const tokens = torch.keep(torch.randint(0, config.vocabSize, [TRAIN_B, TRAIN_T + 1], { dtype: "int64", device }));
const mb: Batch = { ids: torch.keep(tokens.narrow(1, 0, TRAIN_T)), targets: torch.keep(tokens.narrow(1, 1, TRAIN_T)) };
const stepMs: number[] = [];
for (let i = 0; i < 7; i++) {
  const t0 = performance.now();
  trainer.trainStep([mb]); // reads the loss back (.item()): the step is complete when it returns
  if (i >= 2) stepMs.push(performance.now() - t0);
}
const trainStepMs = median(stepMs);
console.log(JSON.stringify({ impl: "torchforge-ts", device, model: which, batch, decodeTokPerS: Math.round(decodeTokPerS), trainStepMs: Number(trainStepMs.toFixed(1)), trainTokPerS: Math.round((TRAIN_B * TRAIN_T * 1000) / trainStepMs) }));
model.dispose();
