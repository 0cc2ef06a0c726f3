// The GRPO app's single-turn rollout (apps/grpo/rollout.ts `rollout`) over a scripted generator:
// completions are grouped by request, scored against their own example, and the step's
// rollout metrics (mean reward, lengths, truncation, kept groups) are what happened.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Completion, SamplingParams } from "../../src/generation/index.ts";
import { RewardSet } from "../../src/rewards/index.ts";
import { drainMetrics, mergeMetricStates, reduceMetricState } from "../../src/observability/index.ts";
import { rollout } from "../../apps/grpo/rollout.ts";

/** Returns, per request, n completions whose text is `${prompt ids}:${j}` and whose length is j + 1. */
function scriptedEngine(calls: { prompts: number[][]; sampling: SamplingParams }[]) {
  return {
    async generate(requests: { prompt: number[] }[], sampling: SamplingParams): Promise<Completion[]> {
      calls.push({ prompts: requests.map((r) => r.prompt), sampling });
      const n = sampling.n ?? 1;
      // Interleaved order (sample-major): rollout must group by requestIndex, not by position.
      const out: Completion[] = [];
      for (let j = 0; j < n; j++) {
        requests.forEach((r, i) =>
          out.push({
            requestIndex: i,
            sampleIndex: j,
            text: `${i}:${j}`,
            promptIds: r.prompt,
            tokenIds: Array.from({ length: j + 1 }, () => 7),
            logprobs: Array.from({ length: j + 1 }, () => -1),
            stopReason: j === n - 1 ? "length" : "stop",
            generatorVersion: 3,
            metadata: { seed: 0 },
          }),
        );
      }
      return out;
    },
  };
}

function metrics(): Map<string, number> {
  return new Map([...mergeMetricStates(drainMetrics())].map(([k, s]) => [k, reduceMetricState(s) as number]));
}

test("rollout groups completions by request, scores each against its example and records what happened", async () => {
  drainMetrics();
  const calls: { prompts: number[][]; sampling: SamplingParams }[] = [];
  // Reward: 1 when the response's sample index is 0 and the target is "a", else the sample index / 10.
  const rewards = new RewardSet({ rewards: [(_p: string, response: string, target: string) => (target === "a" && response.endsWith(":0") ? 1 : Number(response.split(":")[1]) / 10)] });
  const examples = [
    { id: "x", prompt: "px", target: "a" },
    { id: "y", prompt: "py", target: "b" },
  ];
  const r = await rollout({
    engine: scriptedEngine(calls),
    rewards,
    examples,
    promptIds: [[1, 2], [3]],
    sampling: { n: 3, temperature: 0.5 },
    refModel: null,
    filterZeroVariance: false,
    filterTruncated: false,
    advantageMethod: "dr-grpo",
  });
  assert.deepEqual(calls[0]!.prompts, [[1, 2], [3]]);
  assert.equal(calls[0]!.sampling.temperature, 0.5);
  assert.equal(r.groups, 2);
  assert.equal(r.keptGroups, 2);
  assert.deepEqual(r.episodes.map((e) => e.id), ["x/0", "x/1", "x/2", "y/0", "y/1", "y/2"]);
  assert.deepEqual(r.episodes.map((e) => e.completion.text), ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2"]);
  assert.deepEqual(r.episodes.map((e) => e.target), ["a", "a", "a", "b", "b", "b"]);
  const rs = [1, 0.1, 0.2, 0, 0.1, 0.2];
  r.episodes.forEach((e, i) => assert.ok(Math.abs(e.reward - rs[i]!) < 1e-12, `reward ${i}`));
  assert.ok(Math.abs(r.meanReward - rs.reduce((a, b) => a + b) / 6) < 1e-12);
  // dr-grpo: centred within each group.
  const adv = [1 - 1.3 / 3, 0.1 - 1.3 / 3, 0.2 - 1.3 / 3, -0.1, 0, 0.1];
  r.episodes.forEach((e, i) => assert.ok(Math.abs(e.advantage! - adv[i]!) < 1e-12, `advantage ${i}`));
  const m = metrics();
  assert.ok(Math.abs(m.get("reward/mean")! - r.meanReward) < 1e-12);
  assert.equal(m.get("generator/response_length"), 2, "lengths 1, 2, 3 twice");
  assert.ok(Math.abs(m.get("generator/truncated_fraction")! - 1 / 3) < 1e-12);
  assert.equal(m.get("rollout/kept_group_fraction"), 1);
  for (const k of ["main_perf/generate_s", "main_perf/reward_s", "main_perf/score_s"]) assert.ok(m.get(k)! >= 0, k);
  assert.ok(m.get("generator/tokens_per_s")! > 0);
  assert.equal(m.has("reward/failures"), false);
});

test("rollout with filters: truncated groups and zero-variance groups are dropped and counted", async () => {
  drainMetrics();
  const rewards = new RewardSet({ rewards: [(_p: string, response: string) => (response.startsWith("0:") ? 1 : 0)] });
  const r = await rollout({
    engine: scriptedEngine([]),
    rewards,
    examples: [
      { id: "x", prompt: "px", target: "" },
      { id: "y", prompt: "py", target: "" },
    ],
    promptIds: [[1], [2]],
    sampling: { n: 2 },
    refModel: null,
    filterZeroVariance: true,
    filterTruncated: false,
    advantageMethod: "grpo",
  });
  assert.equal(r.keptGroups, 0, "every group's rewards are all equal");
  assert.deepEqual(r.episodes, []);
  assert.equal(metrics().get("rollout/kept_group_fraction"), 0);
  const t = await rollout({
    engine: scriptedEngine([]),
    rewards: new RewardSet({ rewards: [(_p: string, response: string) => Number(response.endsWith(":0"))] }),
    examples: [{ id: "x", prompt: "px", target: "" }],
    promptIds: [[1]],
    sampling: { n: 2 },
    refModel: null,
    filterZeroVariance: false,
    filterTruncated: true,
    advantageMethod: "grpo",
  });
  assert.equal(t.keptGroups, 0, "the group's last sample hit the length limit");
  assert.equal(t.groups, 1);
  assert.ok(Math.abs(t.meanReward - 0.5) < 1e-12, "the mean reward counts every generated sample");
});

test("rollout timing metrics are in seconds; reward failures are counted", async () => {
  drainMetrics();
  const engine = scriptedEngine([]);
  const slow = { generate: async (...args: Parameters<typeof engine.generate>) => (await new Promise((r) => setTimeout(r, 50)), engine.generate(...args)) };
  let calls = 0;
  const rewards = new RewardSet({
    rewards: [
      async () => (await new Promise((r) => setTimeout(r, 25)), 1),
      function flaky() {
        if (calls++ % 2 === 0) throw new Error("flaky");
        return 0;
      },
    ],
  });
  await rollout({
    engine: slow,
    rewards,
    examples: [
      { id: "x", prompt: "px", target: "" },
      { id: "y", prompt: "py", target: "" },
    ],
    promptIds: [[1], [2]],
    sampling: { n: 2 },
    refModel: null,
    filterZeroVariance: false,
    filterTruncated: false,
    advantageMethod: "grpo",
  });
  const m = metrics();
  const gen = m.get("main_perf/generate_s")!;
  const reward = m.get("main_perf/reward_s")!;
  assert.ok(gen >= 0.045 && gen < 1, `generate_s ${gen}`);
  assert.ok(reward >= 0.045 && reward < 1, `reward_s ${reward} (two groups, 25 ms each)`);
  assert.ok(Math.abs(m.get("main_perf/score_s")! - reward) < 1e-9, "score_s is the reward time when there is no reference model");
  assert.equal(m.get("reward/failures"), 2, "every other call of the flaky reward threw");
  assert.ok(Math.abs(m.get("generator/tokens_per_s")! * gen - 6) < 1e-6, "tokens per second = 6 generated tokens / generate_s");
});
