// What policyLossFn hands the loss, per model kind and entropy setting: a headed model (CausalLM)
// gives a loss WITH an entropy bonus the response logits with gradient, and a loss without one
// only the per-token entropy, chunked and without gradient; `entropy: false` gives neither; a
// forward-only model always gives logits. chunkedEntropy's chunks cover every position once,
// each at most chunkElements / vocab rows, the vocabulary size read from config.vocabSize when
// it is a positive number and from one probe row otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { F, torch, type Tensor } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { collate, createEpisode, entropyFromLogits, responseLogits, type Loss } from "../../src/rl/index.ts";
import { chunkedEntropy, policyLossFn, type ForwardModel, type HeadedModel } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

interface Seen {
  logprobs: number[][];
  logits?: { requiresGrad: boolean; shape: number[] };
  entropy?: { requiresGrad: boolean; values: number[][] };
}

function spyLoss(entropyCoef: number, seen: Seen[]): Loss {
  return {
    entropyCoef,
    forward(x: { logprobs: Tensor; paddingMask: Tensor; logits?: Tensor; entropy?: Tensor }) {
      seen.push({
        logprobs: x.logprobs.toArray() as number[][],
        ...(x.logits ? { logits: { requiresGrad: x.logits.requiresGrad, shape: x.logits.shape } } : {}),
        ...(x.entropy ? { entropy: { requiresGrad: x.entropy.requiresGrad, values: x.entropy.toArray() as number[][] } } : {}),
      });
      return { loss: x.logprobs.mul(x.paddingMask).sum(), metrics: {} };
    },
  } as unknown as Loss;
}

const close = (a: number[][], b: number[][], what: string) =>
  a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) < 1e-4, `${what} [${i}][${j}]: ${v} vs ${b[i]![j]}`)));

test("policyLossFn: logits with gradient only for an entropy bonus on a headed model; chunked entropy otherwise", () => {
  const model = debugModel("llama", { seed: 11, initStd: 0.5 });
  const eps = [
    [[5, 6, 7], [8, 9]],
    [[3], [4, 10, 11]],
  ].map(([promptIds, tokenIds], i) => {
    const e = createEpisode({ id: `e${i}`, prompt: "", reward: 0, completion: { text: "", promptIds: promptIds!, tokenIds: tokenIds!, stopReason: "stop", generatorVersion: 0 } });
    return { ...e, advantage: i };
  });
  const batch = collate([eps], { padId: 0 });
  const mb = { inputs: batch.inputs[0]!, targets: batch.targets[0]! };
  const T = 0.4;
  const [expectedLogprobs, expectedEntropy] = torch.noGrad(() =>
    torch.tidy(() => {
      const resp = responseLogits(model.forward(mb.inputs.tokens, { attentionMask: mb.inputs.attentionMask }), { promptLength: mb.targets.promptLength, responseLength: mb.targets.response.shape[1]! });
      return [F.tokenLogprobs(resp, mb.targets.response, { temperature: T }).toArray() as number[][], entropyFromLogits(resp).toArray() as number[][]];
    }),
  );
  const forwardOnly = { forward: (ids: Tensor, o?: { attentionMask?: Tensor }) => model.forward(ids, o) } as unknown as ForwardModel;
  for (const [kind, m] of [["headed", model as unknown as ForwardModel], ["forward-only", forwardOnly]] as const) {
    for (const entropy of [true, false]) {
      for (const coef of [0, 0.1]) {
        const seen: Seen[] = [];
        torch.tidy(() => policyLossFn(spyLoss(coef, seen), { temperature: T, entropy })({ model: m, batch: mb, globalTokenCount: 6, globalSequenceCount: 2 }).loss);
        const s = seen[0]!;
        const what = `${kind}, entropy ${entropy}, entropyCoef ${coef}`;
        close(s.logprobs, expectedLogprobs, `${what}: logprobs at temperature ${T}`);
        const wantLogits = entropy && (kind === "forward-only" || coef !== 0);
        const wantEntropy = entropy && kind === "headed" && coef === 0;
        assert.equal(s.logits !== undefined, wantLogits, `${what}: logits given`);
        assert.equal(s.entropy !== undefined, wantEntropy, `${what}: entropy given`);
        if (s.logits) {
          assert.deepEqual(s.logits.shape, [2, 3, model.config.vocabSize], what);
          assert.equal(s.logits.requiresGrad, true, `${what}: the bonus needs the logits' gradient`);
        }
        if (s.entropy) {
          assert.equal(s.entropy.requiresGrad, false, `${what}: metric-only entropy has no gradient`);
          close(s.entropy.values, expectedEntropy, `${what}: entropy`);
        }
      }
    }
  }
  torch.dispose(batch);
  model.dispose();
});

/** A headed model whose LM head records the rows of every call. */
function recordingHead(V: number, config?: { vocabSize?: unknown }): { model: HeadedModel; calls: number[]; head: Tensor } {
  torch.manualSeed(3);
  const head = torch.randn([4, V]);
  const calls: number[] = [];
  const model = {
    ...(config ? { config } : {}),
    forward: () => assert.fail("not used"),
    hiddenStates: () => assert.fail("not used"),
    logprobsFromHidden: () => assert.fail("not used"),
    logits(hidden: Tensor) {
      calls.push(hidden.shape[0]!);
      return hidden.matmul(head);
    },
  } as unknown as HeadedModel;
  return { model, calls, head };
}

test("chunkedEntropy: chunks of chunkElements / vocab rows cover every position once; vocab from config or one probe row", () => {
  const V = 5;
  torch.manualSeed(4);
  const hidden = torch.randn([1, 5, 4]);
  const cases: { config?: { vocabSize?: unknown }; chunkElements: number; calls: number[] }[] = [
    { config: { vocabSize: V }, chunkElements: 10, calls: [2, 2, 1] },
    { chunkElements: 10, calls: [1, 2, 2, 1] }, // no config: one probe row first
    { config: {}, chunkElements: 10, calls: [1, 2, 2, 1] },
    { config: { vocabSize: 0 }, chunkElements: 10, calls: [1, 2, 2, 1] },
    { config: { vocabSize: "5" }, chunkElements: 10, calls: [1, 2, 2, 1] }, // not a number: probed
    { config: { vocabSize: V }, chunkElements: 3, calls: [1, 1, 1, 1, 1] }, // fewer elements than the vocabulary: one row at a time
    { config: { vocabSize: V }, chunkElements: 1000, calls: [5] },
  ];
  for (const c of cases) {
    const { model, calls, head } = recordingHead(V, c.config);
    const got = chunkedEntropy(model, hidden, c.chunkElements);
    assert.deepEqual(calls, c.calls, `config ${JSON.stringify(c.config)}, chunkElements ${c.chunkElements}`);
    assert.deepEqual(got.shape, [1, 5]);
    const want = torch.tidy(() => entropyFromLogits(hidden.matmul(head)).toArray() as number[][]);
    close(got.toArray() as number[][], want, "entropy");
    torch.dispose([got, head]);
  }
  hidden.dispose();
});
