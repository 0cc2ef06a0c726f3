// The policy-loss path hands the loss the logprobs the generator sampled from: left-padded
// prompts are masked (the attention mask reaches the model) and logits are divided by the
// sampling temperature. A real attention model is used, since a model that ignores the mask
// (tests/trainer/helpers.ts's TinyLM) cannot tell the two apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, optim, type Tensor } from "../../src/torch/index.ts";
import { debugModel, type CausalLM } from "../../src/models/index.ts";
import { collate, createEpisode, type Episode, type Loss } from "../../src/rl/index.ts";
import { Trainer, policyLossFn, type ForwardModel } from "../../src/trainer/index.ts";

torch.setNumThreads(1);

/** Episodes with prompts of different lengths (so collate left-pads) and varied responses. */
function episodesFor(): Episode[] {
  const rows: [number[], number[]][] = [
    [[5, 6, 7, 8, 9], [10, 11, 12]],
    [[13], [14, 15, 16, 17]],
    [[18, 19, 20], [21]],
  ];
  return rows.map(([promptIds, tokenIds], i) => {
    const e = createEpisode({
      id: `e${i}`,
      prompt: "",
      completion: { text: "", promptIds, tokenIds, logprobs: tokenIds.map(() => -1), stopReason: "stop", generatorVersion: 0 },
      reward: i,
    } as unknown as Parameters<typeof createEpisode>[0]);
    e.advantage = i - 1;
    return e;
  });
}

/** Each episode scored alone (no padding): the logprobs the generator saw at `temperature`. */
function independentLogprobs(model: CausalLM, eps: Episode[], temperature: number): number[][] {
  return eps.map((e) =>
    torch.tidy(() => {
      const all = [...e.completion.promptIds, ...e.completion.tokenIds];
      const lp = torch.noGrad(() => model.sequenceLogprobs(torch.tensor([all]), { temperature }));
      return lp.toFlatArray().slice(e.completion.promptIds.length - 1);
    }),
  );
}

/** A loss that records the logprobs it is given (masked rows → per-episode arrays). */
function recordingLoss(seen: number[][][]): Loss {
  return {
    forward(x: { logprobs: Tensor; paddingMask: Tensor }) {
      const lp = x.logprobs.toArray() as number[][];
      const mask = x.paddingMask.toArray() as number[][];
      seen.push(lp.map((row, i) => row.filter((_, j) => mask[i]![j]! > 0)));
      return { loss: x.logprobs.mul(x.paddingMask).sum(), metrics: {} };
    },
  } as unknown as Loss;
}

function assertClose(actual: number[][], expected: number[][], label: string): void {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i]!.length, expected[i]!.length, `${label}: row ${i} length`);
    for (let j = 0; j < expected[i]!.length; j++) {
      assert.ok(Math.abs(actual[i]![j]! - expected[i]![j]!) < 1e-4, `${label}: row ${i} token ${j}: ${actual[i]![j]} vs ${expected[i]![j]}`);
    }
  }
}

for (const temperature of [0.3, 1]) {
  test(`policyLossFn: left-padded logprobs at temperature ${temperature} equal each episode scored alone (headed and forward-only models, with and without entropy)`, () => {
    const model = debugModel("llama", { seed: 5, initStd: 0.5 });
    const eps = episodesFor();
    const batch = collate([eps], { padId: 0 });
    const mb = { inputs: batch.inputs[0]!, targets: batch.targets[0]! };
    const expected = independentLogprobs(model, eps, temperature);
    const forwardOnly = { forward: (ids: Tensor, o?: { attentionMask?: Tensor }) => model.forward(ids, o) } as unknown as ForwardModel;
    for (const m of [model as unknown as ForwardModel, forwardOnly]) {
      for (const entropy of [true, false]) {
        const seen: number[][][] = [];
        torch.tidy(() => torch.noGrad(() => policyLossFn(recordingLoss(seen), { temperature, entropy })({ model: m, batch: mb, globalTokenCount: 8, globalSequenceCount: 3 }).loss));
        assertClose(seen[0]!, expected, `${m === forwardOnly ? "forward-only" : "headed"}, entropy ${entropy}`);
      }
    }
    // The temperature matters on this model: a path that ignored it would not pass both cases.
    const other = independentLogprobs(model, eps, temperature === 1 ? 0.3 : 1);
    assert.ok(Math.abs(other[0]![0]! - expected[0]![0]!) > 1e-3, "temperature changes the logprobs");
    torch.dispose(batch);
    model.dispose();
  });
}

test("Trainer passes its temperature and the attention mask to the policy loss", () => {
  const model = debugModel("llama", { seed: 6, initStd: 0.5 });
  const eps = episodesFor();
  const expected = independentLogprobs(model, eps, 0.3);
  const seen: number[][][] = [];
  const trainer = new Trainer({ model, loss: recordingLoss(seen), optimizer: new optim.SGD(model.parameters(), { lr: 0 }), temperature: 0.3, entropy: false, maxNorm: null });
  const batch = collate([eps], { padId: 0 });
  trainer.trainStep(batch);
  torch.dispose(batch);
  assertClose(seen[0]!, expected, "trainer at temperature 0.3");
  trainer.dispose();
  model.dispose();
});

test("policyLossFn hands the loss the generator's and the reference's logprobs, and the step's global counts", () => {
  const model = debugModel("llama", { seed: 7 });
  const eps = episodesFor();
  for (const e of eps) e.refLogprobs = e.completion.tokenIds.map((_, j) => -2 - j);
  const batch = collate([eps], { padId: 0 });
  const mb = { inputs: batch.inputs[0]!, targets: batch.targets[0]! };
  const seen: Record<string, unknown>[] = [];
  const loss = {
    forward(x: Record<string, unknown> & { logprobs: Tensor; paddingMask: Tensor; generatorLogprobs?: Tensor; refLogprobs?: Tensor }) {
      const masked = (t?: Tensor) => (t ? (t.toArray() as number[][]).map((row, i) => row.filter((_, j) => (x.paddingMask.toArray() as number[][])[i]![j]! > 0)) : undefined);
      seen.push({ gen: masked(x.generatorLogprobs), ref: masked(x.refLogprobs), tokens: x.globalTokenCount, seqs: x.globalSequenceCount });
      return { loss: x.logprobs.mul(x.paddingMask).sum(), metrics: {} };
    },
  } as unknown as Loss;
  torch.tidy(() => torch.noGrad(() => policyLossFn(loss, { entropy: false })({ model: model as unknown as ForwardModel, batch: mb, globalTokenCount: 8, globalSequenceCount: 3 }).loss));
  assert.deepEqual(seen[0], {
    gen: eps.map((e) => e.completion.tokenIds.map(() => -1)),
    ref: eps.map((e) => e.completion.tokenIds.map((_, j) => -2 - j)),
    tokens: 8,
    seqs: 3,
  });
  torch.dispose(batch);
  model.dispose();
});
