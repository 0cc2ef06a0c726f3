/**
 * Peak memory (RSS) of a no-grad scoring forward and of one training step, ours vs Hugging Face
 * transformers, on the same randomly initialised model and batch. Each case runs in a fresh
 * process: the model and batch are built, the kernel's peak-RSS counter is reset
 * (`/proc/self/clear_refs` ← 5), the case runs once, and VmHWM is read.
 *
 * Cases: `score` — per-token logprobs of every next token (B, T−1) without gradients (ours:
 * `CausalLM.sequenceLogprobs`; theirs: `model(ids).logits` + float32 log_softmax + gather, as TRL
 * scores); `forward` — the logits alone (theirs only); `train` — forward, token logprobs,
 * mean NLL, backward, AdamW step (the step's optimizer state included on both sides);
 * `train-ckpt` — the same with activation checkpointing (theirs: gradient_checkpointing_enable);
 * `train-lora` — ours only: the train step with LoRA r=16 on every linear layer (frozen base).
 * `grpo` / `grpo-ckpt` (ours only) — one GRPO step as apps/grpo runs it: `--batch` sequences of
 * `--prompt` prompt + `--seq` response tokens, GRPOLoss with the entropy metric, AdamW, optionally
 * in `--micro` micro-batches (gradient accumulation). The target: `--batch 64 --seq 128`
 * (16 prompts × 4 samples × 128 new tokens) under 3 GB peak RSS.
 *
 *   node --import tsx bench/memory-peak.ts [--model smollm2|100m] [--batch 16] [--seq 256] [--dtype float32|bfloat16] [--threads 2] [--cases score,train,...] [--python]
 *   (one case, ours only: add --case score)
 * The Python peer is bench/memory_peak_torch.py (the `python3` first on PATH, with torch + transformers).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { torch, type DType } from "../src/torch/index.ts";
import { applyLora, debugConfig, randomModel, type ModelConfig } from "../src/models/index.ts";
import { Trainer, sftLossFn, type PolicyMicroBatch, type SftMicroBatch } from "../src/trainer/index.ts";
import { GRPOLoss } from "../src/rl/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

/** HF-config names of each shape, shared with the Python peer. */
const SHAPES: Record<string, Record<string, number | boolean>> = {
  // SmolLM2-135M's architecture (Llama, tied embeddings).
  smollm2: { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, tie_word_embeddings: true },
  "100m": { vocab_size: 32000, hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 4, rope_theta: 500000, tie_word_embeddings: false },
};

const which = opt("model", "smollm2");
const shape = SHAPES[which];
if (!shape) throw new Error(`--model must be one of ${Object.keys(SHAPES).join(", ")}`);
const B = Number(opt("batch", "16"));
const T = Number(opt("seq", "256"));
const dtype = opt("dtype", "float32") as DType;
const threads = opt("threads", "2");
const promptLen = Number(opt("prompt", "32"));
const micro = Number(opt("micro", "1"));

function hwmAndRss(): { hwm: number; rss: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)![1]) * 1024;
  return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
}

function resetPeak(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

function runCase(name: string): void {
  torch.setNumThreads(Number(threads));
  const config: ModelConfig = debugConfig("llama", {
    vocabSize: shape!.vocab_size as number,
    hiddenSize: shape!.hidden_size as number,
    intermediateSize: shape!.intermediate_size as number,
    numLayers: shape!.num_hidden_layers as number,
    numHeads: shape!.num_attention_heads as number,
    numKvHeads: shape!.num_key_value_heads as number,
    headDim: (shape!.hidden_size as number) / (shape!.num_attention_heads as number),
    ropeTheta: shape!.rope_theta as number,
    ropeScaling: null,
    tieWordEmbeddings: shape!.tie_word_embeddings as boolean,
    maxPositionEmbeddings: Math.max(2048, T),
    rmsNormEps: 1e-5,
  });
  const model = randomModel(config, { seed: 0, dtype });
  torch.manualSeed(1);
  const ids = torch.randint(0, config.vocabSize, [B, T]);
  const before = hwmAndRss();
  resetPeak();
  const t0 = performance.now();
  if (name === "score") {
    torch.noGrad(() => torch.tidy(() => void model.sequenceLogprobs(ids).sum().item()));
  } else if (name === "forward") {
    torch.noGrad(() => torch.tidy(() => void model.forward(ids).sum().item()));
  } else if (name === "train-lora") {
    const lora = applyLora(model, { r: 16, alpha: 32, targetModules: "all-linear" });
    const trainer = new Trainer<SftMicroBatch>({ model, trainable: lora, loss: sftLossFn, optimizer: { lr: 1e-5 }, warn: () => {} });
    trainer.trainStep([{ inputIds: ids, lossMask: torch.ones([B, T]) }]);
  } else if (name === "train" || name === "train-ckpt") {
    const trainer = new Trainer<SftMicroBatch>({ model, loss: sftLossFn, optimizer: { lr: 1e-5 }, activationCheckpointing: name === "train-ckpt", warn: () => {} });
    const mask = torch.ones([B, T]);
    trainer.trainStep([{ inputIds: ids, lossMask: mask }]);
  } else if (name === "grpo" || name === "grpo-ckpt") {
    const trainer = new Trainer<PolicyMicroBatch>({ model, loss: new GRPOLoss({ beta: 0 }), optimizer: { lr: 1e-5 }, activationCheckpointing: name === "grpo-ckpt", entropy: true, warn: () => {} });
    if (B % micro !== 0) throw new Error(`--batch ${B} must be a multiple of --micro ${micro}`);
    const b = B / micro;
    const batches: PolicyMicroBatch[] = Array.from({ length: micro }, (_, m) => ({
      inputs: { tokens: torch.randint(0, config.vocabSize, [b, promptLen + T]), attentionMask: torch.ones([b, promptLen + T], { dtype: "int64" }) },
      targets: {
        response: ids.narrow(0, m * b, b),
        advantages: torch.randn([b, 1]),
        paddingMask: torch.ones([b, T]),
        promptLength: promptLen,
      },
    }));
    resetPeak();
    trainer.trainStep(batches);
  } else {
    throw new Error(`unknown case '${name}'`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = hwmAndRss();
  console.log(JSON.stringify({ side: "ts", case: name, model: which, dtype, batch: B, seq: T, baseMiB: before.rss / 2 ** 20, peakMiB: after.hwm / 2 ** 20, deltaMiB: (after.hwm - before.rss) / 2 ** 20, seconds, params: model.numParameters() }));
}

const single = opt("case", "");
if (single) {
  runCase(single);
} else {
  const cases = opt("cases", "score,train,train-ckpt").split(",");
  const python = args.includes("--python");
  const self = fileURLToPath(import.meta.url);
  const common = ["--model", which, "--batch", String(B), "--seq", String(T), "--dtype", dtype, "--threads", threads, "--prompt", String(promptLen), "--micro", String(micro)];
  const rows: Record<string, unknown>[] = [];
  const collect = (cmd: string, argv: string[], env: NodeJS.ProcessEnv) => {
    const r = spawnSync(cmd, argv, { encoding: "utf8", env, maxBuffer: 1 << 24 });
    const line = r.stdout.split("\n").filter((l) => l.startsWith("{")).pop();
    if (r.status !== 0 || !line) throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const row = JSON.parse(line) as Record<string, unknown>;
    rows.push(row);
    console.log(line);
  };
  for (const c of cases) {
    collect(process.execPath, ["--import", "tsx", self, "--case", c, ...common], { ...process.env, TORCHFORGE_NUM_THREADS: threads });
    if (python) {
      collect("python3", [fileURLToPath(new URL("./memory_peak_torch.py", import.meta.url)), "--case", c, "--shape", JSON.stringify(SHAPES[which]), ...common], process.env);
      if (c === "score") collect("python3", [fileURLToPath(new URL("./memory_peak_torch.py", import.meta.url)), "--case", "forward", "--shape", JSON.stringify(SHAPES[which]), ...common], process.env);
    }
  }
  console.log(`\n${which}, ${dtype}, batch ${B} × ${T}, ${threads} threads: peak RSS (MiB) above the RSS with model + batch loaded`);
  for (const r of rows) console.log(`  ${String(r.side).padEnd(3)} ${String(r.case).padEnd(11)} Δpeak ${Number(r.deltaMiB).toFixed(0).padStart(6)}   peak ${Number(r.peakMiB).toFixed(0).padStart(6)}   ${Number(r.seconds).toFixed(1)} s`);
}
