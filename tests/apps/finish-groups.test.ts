// The GRPO app's group post-processing (apps/grpo/rollout.ts finishGroups): truncation and
// zero-variance filters, scaled / unscaled advantages, and reference logprobs at the sampling
// temperature (the rule verl follows: policy and reference are both scored at it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, type Tensor } from "../../src/torch/index.ts";
import { debugModel } from "../../src/models/index.ts";
import { createEpisode, type Group } from "../../src/rl/index.ts";
import { finishGroups } from "../../apps/grpo/rollout.ts";
import { localReference } from "../../apps/grpo/reference-model.ts";
import { drainMetrics, mergeMetricStates, reduceMetricState } from "../../src/observability/index.ts";

torch.setNumThreads(1);

function group(name: string, rewards: number[], stops: ("stop" | "length")[] = rewards.map(() => "stop")): Group {
  return {
    prompt: name,
    episodes: rewards.map((reward, j) =>
      createEpisode({
        id: `${name}/${j}`,
        prompt: name,
        completion: { text: "", promptIds: [3, 4, 5], tokenIds: [6 + j, 7, 8], logprobs: [-1, -1, -1], stopReason: stops[j]!, generatorVersion: 0 },
        reward,
      } as unknown as Parameters<typeof createEpisode>[0]),
    ),
  };
}

const base = { refModel: null, filterZeroVariance: false, filterTruncated: false, advantageMethod: "grpo" as const };
const ids = (r: { episodes: { id: string }[] }) => [...new Set(r.episodes.map((e) => e.id.split("/")[0]))];

test("filterTruncated drops exactly the groups with a truncated episode; off keeps them", async () => {
  const groups = () => [group("a", [0, 1]), group("b", [0, 1], ["stop", "length"]), group("c", [1, 0], ["length", "length"])];
  const on = await finishGroups(groups(), { ...base, filterTruncated: true });
  assert.deepEqual(ids(on), ["a"]);
  assert.equal(on.keptGroups, 1);
  const off = await finishGroups(groups(), base);
  assert.deepEqual(ids(off), ["a", "b", "c"]);
  assert.equal(off.keptGroups, 3);
});

test("filterZeroVariance drops groups whose rewards are all equal; off keeps them with zero advantages", async () => {
  const groups = () => [group("a", [1, 1, 1]), group("b", [0, 1, 0]), group("c", [0, 0, 0])];
  const on = await finishGroups(groups(), { ...base, filterZeroVariance: true });
  assert.deepEqual(ids(on), ["b"]);
  const off = await finishGroups(groups(), base);
  assert.deepEqual(ids(off), ["a", "b", "c"]);
  assert.deepEqual(
    off.episodes.filter((e) => !e.id.startsWith("b")).map((e) => e.advantage),
    [0, 0, 0, 0, 0, 0],
  );
  // Both filters together: truncation first, then variance.
  const both = await finishGroups([group("a", [0, 1], ["length", "stop"]), group("b", [2, 2]), group("c", [0, 3])], { ...base, filterZeroVariance: true, filterTruncated: true });
  assert.deepEqual(ids(both), ["c"]);
});

test("advantages: grpo scales by the group's std (scale_advantages: true); dr-grpo only centres (false)", async () => {
  const scaled = (await finishGroups([group("a", [0, 1, 2, 5])], base)).episodes.map((e) => e.advantage!);
  const centred = (await finishGroups([group("a", [0, 1, 2, 5])], { ...base, advantageMethod: "dr-grpo" })).episodes.map((e) => e.advantage!);
  assert.deepEqual(centred, [-2, -1, 0, 3]);
  const sd = Math.sqrt((4 + 1 + 0 + 9) / 3); // unbiased std
  scaled.forEach((a, i) => assert.ok(Math.abs(a - centred[i]! / (sd + 1e-4)) < 1e-12, `advantage ${i}: ${a}`));
});

test("reference logprobs are scored at the sampling temperature, each response token with its prompt", async () => {
  const ref = debugModel("llama", { seed: 2, initStd: 0.5 });
  const scorer = localReference(ref);
  for (const temperature of [0.3, 1]) {
    const r = await finishGroups([group("a", [0, 1]), group("b", [1, 0])], { ...base, refModel: scorer, temperature });
    for (const e of r.episodes) {
      const all = [...e.completion.promptIds, ...e.completion.tokenIds];
      const expected = torch.tidy(() => torch.noGrad(() => ref.sequenceLogprobs(torch.tensor([all]), { temperature })).toFlatArray().slice(2));
      assert.equal(e.refLogprobs!.length, 3);
      e.refLogprobs!.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-5 * (1 + Math.abs(x)), `T=${temperature} ${e.id} token ${i}: ${x} vs ${expected[i]}`));
    }
  }
  const t1 = (await finishGroups([group("a", [0, 1])], { ...base, refModel: scorer })).episodes[0]!.refLogprobs!;
  const t03 = (await finishGroups([group("a", [0, 1])], { ...base, refModel: scorer, temperature: 0.3 })).episodes[0]!.refLogprobs!;
  assert.ok(Math.abs(t1[0]! - t03[0]!) > 1e-3, "the temperature changes the reference logprobs (default 1)");
  // Scored 64 rows per forward: exactly 64 and 65 episodes give every episode its own logprobs.
  for (const size of [64, 65]) {
    drainMetrics();
    const groups = Array.from({ length: size }, (_, i) => group(`g${i}`, [i % 3]));
    // A reference model that records the rows of each forward.
    const rows: number[] = [];
    const spy = { sequenceLogprobs: (ids: Tensor, o: { temperature?: number }) => (rows.push(ids.shape[0]!), ref.sequenceLogprobs(ids, o)) } as unknown as typeof ref;
    const w0 = performance.now();
    const r = await finishGroups(groups, { ...base, refModel: localReference(spy), temperature: 0.7 });
    const wallS = (performance.now() - w0) / 1000;
    assert.deepEqual(rows, size === 64 ? [64] : [64, 1], "64 rows per forward");
    assert.equal(r.episodes.length, size);
    const e = r.episodes[size - 1]!;
    const expected = torch.tidy(() => torch.noGrad(() => ref.sequenceLogprobs(torch.tensor([[...e.completion.promptIds, ...e.completion.tokenIds]]), { temperature: 0.7 })).toFlatArray().slice(2));
    e.refLogprobs!.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-5 * (1 + Math.abs(x)), `${size} episodes: last episode token ${i}`));
    const m = new Map([...mergeMetricStates(drainMetrics())].map(([k, s]) => [k, reduceMetricState(s) as number]));
    const refS = m.get("main_perf/ref_logprobs_s")!;
    assert.ok(refS > 0 && refS <= wallS, `ref_logprobs_s ${refS} is in seconds, within the call's ${wallS} s`);
    assert.equal(m.get("main_perf/score_s"), refS);
  }
  ref.dispose();
});
