import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F } from "../../src/torch/index.ts";
import { collate, CollateError, createEpisode, responseLogprobs, SimpleGRPOLoss, type Episode } from "../../src/rl/index.ts";
import { assertClose, assertNoLeak } from "./helpers.ts";

const PAD = 0;
function ep(id: string, promptIds: number[], tokenIds: number[], extra: Partial<Episode> = {}): Episode {
  const e = createEpisode({
    id,
    prompt: "",
    reward: 1,
    completion: { text: "", promptIds, tokenIds, logprobs: tokenIds.map((t) => -t / 10), stopReason: "stop", generatorVersion: 0 },
    refLogprobs: tokenIds.map((t) => -t / 20),
  });
  return { ...e, ...extra };
}

test("collate: left-padded prompts, right-padded responses, masks from lengths (EOS = pad is kept)", () => {
  const a = ep("a", [5, 6, 7], [8, 9, PAD], { advantage: 0.5 }); // response ends in EOS == pad id
  const b = ep("b", [5], [11], { advantage: -1, lossMask: [1] });
  const c = ep("c", [4, 4], [12, 13, 14, 15], { advantage: 2, lossMask: [1, 0, 1, 1] });
  const batch = collate([[a, b], [c]], { padId: PAD });
  assert.equal(batch.inputs.length, 2);
  const [t0, t1] = batch.targets;
  assert.equal(t0!.promptLength, 3);
  // (B, P+R) = (2, 3+4)
  assert.deepEqual(batch.inputs[0]!.tokens.toArray(), [
    [5, 6, 7, 8, 9, PAD, PAD],
    [PAD, PAD, 5, 11, PAD, PAD, PAD],
  ]);
  assert.deepEqual(batch.inputs[1]!.tokens.toArray(), [[PAD, 4, 4, 12, 13, 14, 15]]);
  assert.deepEqual(t0!.response.toArray(), [[8, 9, PAD, PAD], [11, PAD, PAD, PAD]]);
  assert.deepEqual(t0!.paddingMask.toArray(), [[1, 1, 1, 0], [1, 0, 0, 0]]);
  assert.deepEqual(t1!.paddingMask.toArray(), [[1, 0, 1, 1]]);
  assert.deepEqual(t0!.advantages.shape, [2, 1]);
  assertClose(t0!.advantages.toArray(), [[0.5], [-1]], 1e-7);
  assertClose(t0!.generatorLogprobs!.toArray(), [[-0.8, -0.9, 0, 0], [-1.1, 0, 0, 0]], 1e-6);
  assertClose(t1!.refLogprobs!.toArray(), [[-0.6, -0.65, -0.7, -0.75]], 1e-6);
  assert.equal(t0!.response.dtype, "int64");
  assert.equal(t0!.paddingMask.dtype, "float32");
  torch.dispose(batch);
});

test("collate: explicit lengths, and errors naming the episode and field", () => {
  const a = ep("a", [5, 6, 7], [8, 9]);
  const b = collate([[a]], { padId: 1, promptLength: 4, responseLength: 3 });
  assert.deepEqual(b.inputs[0]!.tokens.toArray(), [[1, 5, 6, 7, 8, 9, 1]]);
  torch.dispose(b);
  assert.throws(() => collate([[a]], { padId: 0, responseLength: 1 }), (e: unknown) => e instanceof CollateError && /episode a.*tokenIds.*more than responseLength=1/.test(e.message));
  assert.throws(() => collate([[a]], { padId: 0, promptLength: 2 }), /promptIds.*more than promptLength=2/);
  assert.throws(() => collate([[{ ...a, lossMask: [1] }]], { padId: 0 }), /lossMask.*length 1, expected 2/);
  assert.throws(() => collate([[a, { ...a, id: "x", refLogprobs: undefined }]], { padId: 0 }), /episode x.*refLogprobs.*missing/);
  assert.throws(() => collate([[{ ...a, advantage: NaN }]], { padId: 0 }), /advantage/);
  assert.throws(() => collate([[]], { padId: 0 }), /batches\[0\]' is empty/);
  const noRef = collate([[{ ...a, refLogprobs: undefined }]], { padId: 0 });
  assert.equal(noRef.targets[0]!.refLogprobs, undefined);
  torch.dispose(noRef);
});

test("responseLogprobs is next-token aligned: logits at P−1+t score response token t", () => {
  const a = ep("a", [1, 2], [3, 4, 5]);
  const b = ep("b", [2], [1]);
  const batch = collate([[a, b]], { padId: 0 });
  const { tokens } = batch.inputs[0]!;
  const { response, promptLength } = batch.targets[0]!;
  torch.manualSeed(0);
  const logits = torch.randn([2, tokens.shape[1]!, 6], { dtype: "float64" });
  const lp = responseLogprobs(logits, response, { promptLength });
  assert.deepEqual(lp.shape, [2, 3]);
  // Manual: logSoftmax(logits[i, P−1+t])[response[i, t]]
  const ls = logits.logSoftmax(-1).toArray() as number[][][];
  const resp = response.toArray() as number[][];
  const manual = resp.map((row, i) => row.map((tok, t) => ls[i]![promptLength - 1 + t]![tok]!));
  assertClose(lp.toArray(), manual, 1e-10);
  // temperature divides logits first
  const lpT = responseLogprobs(logits, response, { promptLength, temperature: 0.5 });
  const ls2 = logits.div(0.5).logSoftmax(-1).toArray() as number[][][];
  assertClose(lpT.toArray(), resp.map((row, i) => row.map((tok, t) => ls2[i]![promptLength - 1 + t]![tok]!)), 1e-10);
  torch.dispose([batch, logits, lp, lpT]);
});

test("collate → model logits → SimpleGRPOLoss end to end, no leaks", () => {
  const eps = [ep("a", [1, 2], [3, 4, 5], { advantage: 1 }), ep("b", [2], [1], { advantage: -1 })];
  torch.manualSeed(1);
  const w = torch.randn([6, 6], { dtype: "float32", requiresGrad: true });
  assertNoLeak(() => {
    const batch = collate([eps], { padId: 0 });
    const t = batch.targets[0]!;
    const { loss, metrics } = torch.tidy(() => {
      const logits = F.embedding(batch.inputs[0]!.tokens, w); // (B, P+R, V=6): a bigram "model"
      const logprobs = responseLogprobs(logits, t.response, { promptLength: t.promptLength });
      return new SimpleGRPOLoss({ beta: 0.1 }).forward({ logprobs, refLogprobs: t.refLogprobs, advantages: t.advantages, paddingMask: t.paddingMask });
    });
    loss.backward();
    assert.ok(Number.isFinite(metrics.loss));
    assert.equal(metrics.tokens, 4);
    const g = w.grad!;
    assert.ok(torch.tidy(() => g.abs().sum().item()) > 0);
    torch.dispose([g, loss, batch]);
  });
  w.dispose();
});
