// collate's option and episode checks, the attention mask it builds, and responseLogits' shape
// rules at their boundaries (promptLength 1, logits with exactly P + R − 1 positions).
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { collate, CollateError, createEpisode, responseLogits, RLOptionError, ShapeMismatchError, type Episode } from "../../src/rl/index.ts";

function ep(id: string, promptIds: number[], tokenIds: number[], extra: Partial<Episode> = {}): Episode {
  const e = createEpisode({
    id,
    prompt: "",
    reward: 1,
    completion: { text: "", promptIds, tokenIds, logprobs: tokenIds.map((t) => -t / 10), stopReason: "stop", generatorVersion: 0 },
  });
  return { ...e, ...extra };
}

test("collate builds the attention mask: 1 on real prompt and response tokens, 0 on padding", () => {
  const a = ep("a", [5, 6, 7], [8, 9]);
  const b = ep("b", [4], [3, 2, 1]);
  const batch = collate([[a, b]], { padId: 0 });
  const { tokens, attentionMask } = batch.inputs[0]!;
  assert.deepEqual(attentionMask.shape, [2, 6]);
  assert.deepEqual(tokens.shape, [2, 6]);
  assert.equal(attentionMask.dtype, "int64");
  assert.deepEqual(attentionMask.toArray(), [
    [1, 1, 1, 1, 1, 0],
    [0, 0, 1, 1, 1, 1],
  ]);
  torch.dispose(batch);
});

test("collate: option checks (padId, empty batch list, promptLength/responseLength >= 1 integers)", () => {
  const a = ep("a", [5], [8, 9]);
  const isOption = (field: string) => (e: unknown) => e instanceof RLOptionError && e.message.includes(field);
  assert.throws(() => collate([[a]], { padId: 0.5 }), isOption("padId"));
  assert.throws(() => collate([], { padId: 0 }), (e: unknown) => e instanceof CollateError && /batches.*is empty/.test(e.message));
  assert.throws(() => collate([[a]], { padId: 0, promptLength: 0 }), isOption("promptLength"));
  assert.throws(() => collate([[a]], { padId: 0, promptLength: 1.5 }), isOption("promptLength"));
  assert.throws(() => collate([[a]], { padId: 0, responseLength: 0 }), isOption("responseLength"));
  assert.throws(() => collate([[a]], { padId: 0, responseLength: 2.5 }), isOption("responseLength"));
  // The smallest legal lengths work.
  const one = collate([[ep("o", [5], [8])]], { padId: 0, promptLength: 1, responseLength: 1 });
  assert.deepEqual(one.inputs[0]!.tokens.toArray(), [[5, 8]]);
  torch.dispose(one);
});

test("collate: episode checks (empty prompt, per-token field lengths, generator logprobs all or none)", () => {
  const a = ep("a", [5, 6], [8, 9]);
  assert.throws(() => collate([[ep("e", [], [8])]], { padId: 0, promptLength: 2 }), (e: unknown) => e instanceof CollateError && /episode e.*promptIds.*is empty/.test(e.message));
  assert.throws(() => collate([[{ ...a, refLogprobs: [-1] }]], { padId: 0 }), /episode a.*refLogprobs.*length 1, expected 2/);
  assert.throws(() => collate([[{ ...a, completion: { ...a.completion, logprobs: [-1, -2, -3] } }]], { padId: 0 }), /completion\.logprobs.*length 3, expected 2/);
  const noGen = { ...a, id: "g", completion: { ...a.completion, logprobs: undefined } };
  assert.throws(() => collate([[a, noGen]], { padId: 0 }), /episode g.*completion\.logprobs.*missing/);
  assert.throws(() => collate([[noGen, a]], { padId: 0 }), /episode g.*completion\.logprobs.*missing/);
  const none = collate([[noGen, { ...noGen, id: "h" }]], { padId: 0 });
  assert.equal(none.targets[0]!.generatorLogprobs, undefined);
  torch.dispose(none);
});

test("responseLogits: (B, >= P+R-1, V) slices positions P-1 .. P+R-2; other shapes and P < 1 are refused", () => {
  const P = 2;
  const R = 3;
  // Exactly P + R − 1 positions is enough (the last token predicts nothing).
  const logits = torch.arange(0, 2 * (P + R - 1) * 2, { dtype: "float32" }).reshape(2, P + R - 1, 2);
  const slice = responseLogits(logits, { promptLength: P, responseLength: R });
  assert.deepEqual(slice.shape, [2, R, 2]);
  assert.deepEqual((slice.toArray() as number[][][])[0]![0], [2, 3]);
  const p1 = responseLogits(logits, { promptLength: 1, responseLength: 3 });
  assert.deepEqual((p1.toArray() as number[][][])[1]![0], [8, 9]);
  const refused = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof ShapeMismatchError && /logits/.test((e as Error).message));
  refused(() => responseLogits(logits, { promptLength: P, responseLength: R + 1 }));
  refused(() => responseLogits(logits, { promptLength: 0, responseLength: 1 }));
  refused(() => responseLogits(logits.reshape(2, -1), { promptLength: 1, responseLength: 1 }));
  torch.dispose([logits, slice, p1]);
});
