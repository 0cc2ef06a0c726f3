// The device-generic path (libtorch's composite ops, what CUDA tensors run) against the fused CPU
// kernels: single ops, a model forward, greedy and sampled generation, and a train step.
//
// TORCHFORGE_TEST_DEVICE picks the candidate: unset or "cpu" runs the generic path ON THE CPU
// (F.setGenericKernels(true)); "cuda" / "cuda:0" runs the same checks with the candidate on that
// GPU (bench/gpu-check.sh does). The reference is always the fused CPU path.
//
// Tolerances (float32): single ops 2e-5 absolute; model logits 1e-4; generation: identical greedy
// AND sampled tokens (same seeds), logprobs 1e-4; train step: loss 1e-5 relative, gradient norm
// 1e-4 relative, updated weights 1e-5 absolute. Sampling draws: identical tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { F, torch, type Tensor } from "../../src/torch/index.ts";
import { debugModel, Tokenizer, type CausalLM } from "../../src/models/index.ts";
import { GenerationEngine, type Completion } from "../../src/generation/index.ts";
import { Trainer } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

const DEVICE = process.env.TORCHFORGE_TEST_DEVICE ?? "cpu";
const onGpu = DEVICE !== "cpu";
if (onGpu && !torch.cuda.isAvailable()) throw new Error(`TORCHFORGE_TEST_DEVICE=${DEVICE} but torch.cuda.isAvailable() is false`);

/** Runs `fn` the candidate's way: generic kernels on the CPU, or simply on the GPU. */
function candidate<T>(fn: () => T): T {
  return onGpu ? fn() : F.withGenericKernels(true, fn);
}
const there = (t: Tensor): Tensor => (onGpu ? t.to({ device: DEVICE }) : t);

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return torch.tidy(() => a.cpu().to("float64").sub(b.cpu().to("float64")).abs().max().item());
}

test(`device-generic mode switch: off by default, set/restore, packed linears unavailable inside (${DEVICE})`, () => {
  assert.equal(F.genericKernels(), process.env.TORCHFORGE_GENERIC_KERNELS === "1");
  const before = F.packedLinearAvailable();
  F.withGenericKernels(true, () => {
    assert.equal(F.genericKernels(), true);
    assert.equal(F.packedLinearAvailable(), false, "MKL packing stands aside in generic mode");
  });
  assert.equal(F.genericKernels(), process.env.TORCHFORGE_GENERIC_KERNELS === "1");
  assert.equal(F.packedLinearAvailable(), before);
});

test(`single ops: rmsNorm, addRmsNorm, rotary, siluMul, cached attention equal the fused kernels (2e-5; ${DEVICE})`, () => {
  torch.tidy(() =>
    torch.noGrad(() => {
      torch.manualSeed(7);
      const x = torch.randn([3, 5, 64]);
      const r = torch.randn([3, 5, 64]);
      const w = torch.randn([64]);
      const q = torch.randn([2, 8, 2, 32]); // 2 query rows against a cache of 9 keys, GQA 8/2
      const k = torch.randn([2, 2, 9, 32]);
      const v = torch.randn([2, 2, 9, 32]);
      const cos = torch.randn([2, 32]);
      const sin = torch.randn([2, 32]);
      const gate = torch.randn([4, 96]);
      const up = torch.randn([4, 96]);
      const before = F.fusedKernelCalls();
      const fused = {
        norm: F.rmsNorm(x, w, 1e-6),
        add: F.addRmsNorm(x, r, w, 1e-6),
        rot: F.applyRotaryEmb(q, cos, sin),
        silu: F.siluMul(gate, up),
        attn: F.scaledDotProductAttention(q, k, v, { isCausal: true }),
      };
      const mid = F.fusedKernelCalls();
      assert.ok(mid.rmsNorm > before.rmsNorm && mid.attention > before.attention, "the reference ran the fused kernels");
      const generic = candidate(() => ({
        norm: F.rmsNorm(there(x), there(w), 1e-6),
        add: F.addRmsNorm(there(x), there(r), there(w), 1e-6),
        rot: F.applyRotaryEmb(there(q), there(cos), there(sin)),
        silu: F.siluMul(there(gate), there(up)),
        attn: F.scaledDotProductAttention(there(q), there(k), there(v), { isCausal: true }),
      }));
      assert.deepEqual(F.fusedKernelCalls(), mid, "the candidate ran no fused kernel");
      assert.equal(generic.norm.device, onGpu ? torch.tensor([0], { device: DEVICE }).device : "cpu");
      assert.ok(maxAbsDiff(fused.norm, generic.norm) < 2e-5, "rmsNorm");
      assert.ok(maxAbsDiff(fused.add.sum, generic.add.sum) < 2e-5, "addRmsNorm sum");
      assert.ok(maxAbsDiff(fused.add.normed, generic.add.normed) < 2e-5, "addRmsNorm normed");
      assert.ok(maxAbsDiff(fused.rot, generic.rot) < 2e-5, "rotary");
      assert.ok(maxAbsDiff(fused.silu, generic.silu) < 2e-5, "siluMul");
      assert.ok(maxAbsDiff(fused.attn, generic.attn) < 2e-5, `attention ${maxAbsDiff(fused.attn, generic.attn)}`);
    }),
  );
});

test(`sampling: composite draws equal the native pass (top-k, top-p, min-p, none; ${DEVICE})`, () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const R = 16;
    const V = 300;
    const logits = torch.randn([R, V]).mul(3);
    // Ties, and a row with one dominant token.
    const tied = torch.tensor([Array.from({ length: V }, (_, i) => (i % 3 === 0 ? 1 : 0))], { dtype: "float32" });
    const all = torch.cat([logits, tied], 0);
    const rows = R + 1;
    const uniforms = torch.rand([rows], { dtype: "float64" });
    for (const opts of [{}, { topK: 5 }, { topP: 0.8 }, { minP: 0.1 }, { topK: 40, topP: 0.9, minP: 0.05 }, { topK: V + 7 }]) {
      const probs = all.softmax(-1);
      const a = F.sampleFromProbs(probs, uniforms, opts).toFlatArray();
      const b = candidate(() => F.sampleFromProbs(there(probs), uniforms, opts).toFlatArray());
      assert.deepEqual(b, a, `sampleFromProbs ${JSON.stringify(opts)}`);
      const fl = F.sampleFromLogits(all, uniforms, { ...opts, temperature: 0.7 });
      const gl = candidate(() => F.sampleFromLogits(there(all), uniforms, { ...opts, temperature: 0.7 }));
      assert.deepEqual(gl.tokens.toFlatArray(), fl.tokens.toFlatArray(), `sampleFromLogits ${JSON.stringify(opts)}`);
      assert.ok(maxAbsDiff(fl.logprobs, gl.logprobs) < 2e-5, `sampleFromLogits logprobs ${JSON.stringify(opts)}`);
    }
  });
});

function twinModels(): { ref: CausalLM; cand: CausalLM } {
  const ref = debugModel("qwen3", { seed: 5, initStd: 0.5 });
  const cand = debugModel("qwen3", { seed: 5, initStd: 0.5 });
  if (onGpu) cand.to({ device: DEVICE });
  return { ref, cand };
}

test(`model forward: logits equal (1e-4), no-grad decode path and autograd path (${DEVICE})`, () => {
  const { ref, cand } = twinModels();
  torch.tidy(() => {
    const ids = torch.tensor([[1, 5, 9, 2, 7, 3, 8], [4, 4, 6, 1, 0, 2, 9]], { dtype: "int64" });
    const a = torch.noGrad(() => ref.forward(ids));
    const b = candidate(() => torch.noGrad(() => cand.forward(ids))); // CPU ids follow the model to its device
    assert.ok(maxAbsDiff(a, b) < 1e-4, `no-grad logits ${maxAbsDiff(a, b)}`);
    const c = candidate(() => cand.forward(ids));
    assert.ok(maxAbsDiff(a, c) < 1e-4, `autograd logits ${maxAbsDiff(a, c)}`);
  });
  ref.dispose();
  cand.dispose();
});

const tokenizer = Tokenizer.fromPretrained("assets/tiny-tokenizer");
const prompts = ["1+2=", "what is 7*8?", "a", "the quick brown fox jumps over"].map((p) => ({ prompt: p }));

function sameCompletions(a: Completion[], b: Completion[], what: string): void {
  assert.deepEqual(b.map((c) => c.tokenIds), a.map((c) => c.tokenIds), `${what}: tokens`);
  let worst = 0;
  a.forEach((c, i) => c.logprobs.forEach((lp, j) => (worst = Math.max(worst, Math.abs(lp - b[i]!.logprobs[j]!)))));
  assert.ok(worst < 1e-4, `${what}: logprobs differ by ${worst}`);
}

test(`generation: greedy and sampled tokens identical, KV cache on the model's device (${DEVICE})`, async () => {
  const { ref, cand } = twinModels();
  const refEngine = new GenerationEngine({ model: ref, tokenizer, maxBatchSize: 8, maxSeqLen: 64, packWeights: true });
  const candEngine = new GenerationEngine({ model: cand, tokenizer, maxBatchSize: 8, maxSeqLen: 64, packWeights: true });
  try {
    for (const [what, params] of [
      ["greedy", { greedy: true, maxTokens: 24, n: 2, ignoreEos: true }],
      ["sampled (T 0.8, top-p 0.9)", { temperature: 0.8, topP: 0.9, maxTokens: 24, n: 2, seed: 4, ignoreEos: true }],
      ["sampled (T 1, top-k 20, min-p 0.05)", { temperature: 1, topK: 20, minP: 0.05, maxTokens: 24, n: 2, seed: 9, ignoreEos: true }],
    ] as const) {
      const before = F.fusedKernelCalls();
      const a = await refEngine.generate(prompts, params);
      const mid = F.fusedKernelCalls();
      assert.ok(mid.attention > before.attention, `${what}: the reference used the fused kernels`);
      const before2 = F.genericKernels();
      if (!onGpu) F.setGenericKernels(true);
      let b: Completion[];
      try {
        b = await candEngine.generate(prompts, params);
      } finally {
        F.setGenericKernels(before2);
      }
      assert.deepEqual(F.fusedKernelCalls(), mid, `${what}: the candidate ran no fused kernel`);
      sameCompletions(a, b, what);
    }
  } finally {
    refEngine.dispose();
    candEngine.dispose();
    ref.dispose();
    cand.dispose();
  }
});

interface LmBatch {
  ids: Tensor;
  targets: Tensor;
}

test(`train step: loss, gradient norm and updated weights equal (${DEVICE})`, () => {
  const { ref, cand } = twinModels();
  const lossFn = ({ model, batch }: { model: CausalLM; batch: LmBatch }) => {
    const logits = model.forward(batch.ids);
    return { loss: F.crossEntropy(logits.reshape(-1, logits.shape[2]!), batch.targets.reshape(-1)) };
  };
  const options = { loss: lossFn, optimizer: { lr: 1e-2 }, countTokens: (b: LmBatch) => ({ tokens: b.targets.numel, sequences: b.ids.shape[0]! }), warn: () => {} };
  const t1 = new Trainer<LmBatch, CausalLM>({ model: ref, ...options });
  const t2 = new Trainer<LmBatch, CausalLM>({ model: cand, ...options });
  const batch = (): LmBatch[] => [
    { ids: torch.tensor([[1, 5, 9, 2, 7, 3]], { dtype: "int64" }), targets: torch.tensor([[5, 9, 2, 7, 3, 8]], { dtype: "int64" }) },
    { ids: torch.tensor([[4, 4, 6, 1, 0, 2]], { dtype: "int64" }), targets: torch.tensor([[4, 6, 1, 0, 2, 9]], { dtype: "int64" }) },
  ];
  for (let step = 0; step < 2; step++) {
    const b1 = batch();
    const b2 = batch();
    const r1 = t1.trainStep(b1);
    const r2 = candidate(() => t2.trainStep(b2)); // CPU micro-batches: the trainer moves them to the model's device
    assert.ok(Math.abs(r1.loss - r2.loss) <= 1e-5 * Math.abs(r1.loss), `step ${step} loss ${r1.loss} vs ${r2.loss}`);
    assert.ok(Math.abs(r1.gradNorm - r2.gradNorm) <= 1e-4 * r1.gradNorm, `step ${step} grad norm ${r1.gradNorm} vs ${r2.gradNorm}`);
    for (const t of [...b1, ...b2]) [t.ids, t.targets].forEach((x) => x.dispose());
  }
  const p1 = ref.stateDict();
  const p2 = cand.stateDict();
  let worst = 0;
  for (const [name, t] of p1) worst = Math.max(worst, maxAbsDiff(t, p2.get(name)!));
  assert.ok(worst < 1e-5, `weights after 2 steps differ by ${worst}`);
  if (onGpu) assert.ok([...p2.values()].every((t) => t.device.startsWith("cuda")), "parameters stayed on the GPU");
  ref.dispose();
  cand.dispose();
});
