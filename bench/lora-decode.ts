/**
 * LoRA at generation time: decode tokens/s with the adapters applied unmerged (an extra
 * x Aᵀ Bᵀ branch per adapted layer) versus merged into the weights once per weight version, on
 * SmolLM2-135M (the GGUF dequantised to float32; a random 135M-shaped Llama when the file is
 * absent). Also: the time one merge takes (what the merged mode pays per weight version), the
 * trainable parameter count and the adapters' memory. Prints numbers; asserts nothing.
 *
 * Run: node --single-threaded-gc --import tsx bench/lora-decode.ts [--r 16] [--targets all-linear|qv]
 *        [--threads 2] [--pack] [--batches 1,16] [--steps 32] [--rounds 3]
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { nn, torch } from "../src/torch/index.ts";
import { applyLora, debugConfig, loadGguf, randomModel, type CausalLM } from "../src/models/index.ts";
import { GenerationEngine } from "../src/generation/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
torch.setNumThreads(Number(opt("threads", String(torch.getNumThreads()))));
const r = Number(opt("r", "16"));
const targets = opt("targets", "all-linear") === "qv" ? ["q_proj", "v_proj"] : "all-linear";
const batches = opt("batches", "1,16").split(",").map(Number);
const steps = Number(opt("steps", "32"));
const packWeights = args.includes("--pack");

const GGUF = join(homedir(), ".cache", "torchforge", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
let model: CausalLM;
let source: string;
if (existsSync(GGUF)) {
  model = loadGguf(GGUF, { dtype: "float32" }).model;
  source = "SmolLM2-135M-Instruct (GGUF → float32)";
} else {
  const c = debugConfig("llama", { vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, maxPositionEmbeddings: 2048, ropeScaling: null, tieWordEmbeddings: true });
  model = randomModel(c, { seed: 0 });
  source = "random SmolLM2-135M-shaped Llama (GGUF absent: bash scripts/fetch-smollm2.sh)";
}
const V = model.config.vocabSize;
const lora = applyLora(model, { r, alpha: 2 * r, targetModules: targets });
torch.manualSeed(0);
torch.noGrad(() => {
  for (const p of lora.parameters()) nn.init.normal_(p, 0, 0.02);
});
const { trainable, total } = lora.parameterCounts();
const adapterBytes = lora.parameters().reduce((n, p) => n + p.numel * 4, 0);
const targetBytes = [...lora.layers.values()].reduce((n, l) => n + l.base.weight.numel * 4, 0);
console.log(`${source}: ${(total / 1e6).toFixed(1)}M params; LoRA r=${r} on ${JSON.stringify(targets)} (${lora.layers.size} layers): ${trainable.toLocaleString()} trainable (${((100 * trainable) / total).toFixed(2)} %), adapters ${(adapterBytes / 2 ** 20).toFixed(2)} MiB; merged mode keeps a copy of the adapted weights: ${(targetBytes / 2 ** 20).toFixed(1)} MiB; threads ${torch.getNumThreads()}, pack ${packWeights}`);

const engine = new GenerationEngine({ model, maxBatchSize: Math.max(...batches), maxSeqLen: 256, packWeights });
const prompt = Array.from({ length: 32 }, (_, j) => (j * 17 + 3) % V);
await engine.generate([prompt], { n: 2, maxTokens: 4, seed: 0, ignoreEos: true }); // warm-up

// Decode-only rate: a call making 1 + steps tokens minus one making 1 (medians of 3).
async function decodeRate(batch: number): Promise<number> {
  const timed = async (maxTokens: number): Promise<number> => {
    const t0 = performance.now();
    await engine.generate([prompt], { n: batch, maxTokens, seed: 1, ignoreEos: true, temperature: 0 });
    return performance.now() - t0;
  };
  const first: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < 3; i++) {
    first.push(await timed(1));
    whole.push(await timed(1 + steps));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
  return (batch * steps * 1000) / (med(whole) - med(first));
}

const mergeMs: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  lora.merge();
  mergeMs.push(performance.now() - t0);
  lora.unmerge();
}
console.log(`merge (per weight version): ${[...mergeMs].sort((a, b) => a - b)[1]!.toFixed(1)} ms (median of 3)`);
// Modes interleaved over rounds (medians): the machine's load drifts between runs.
const rounds = Number(opt("rounds", "3"));
const hooks = [...lora.layers.values()].map((l) => [l.base, l] as const);
for (const batch of batches) {
  const rates: Record<"base" | "unmerged" | "merged", number[]> = { base: [], unmerged: [], merged: [] };
  for (let i = 0; i < rounds; i++) {
    rates.unmerged.push(await decodeRate(batch));
    lora.merge();
    rates.merged.push(await decodeRate(batch));
    lora.unmerge();
    // The base alone (adapters unhooked): the ceiling for both.
    for (const [lin] of hooks) lin.adapter = null;
    rates.base.push(await decodeRate(batch));
    for (const [lin, l] of hooks) lin.adapter = l;
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [base, unmerged, merged] = [med(rates.base), med(rates.unmerged), med(rates.merged)];
  console.log(`decode B=${String(batch).padEnd(2)}: base ${base.toFixed(1)} tok/s | unmerged ${unmerged.toFixed(1)} tok/s (${((100 * unmerged) / base).toFixed(0)} %) | merged ${merged.toFixed(1)} tok/s (${((100 * merged) / base).toFixed(0)} %)`);
}
engine.dispose();
lora.dispose();
model.dispose();
