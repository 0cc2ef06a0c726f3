import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadPretrained, Tokenizer, parseToolCalls, toTemplateMessages } from "../../src/models/index.ts";
import { GenerationEngine, type Completion, type SamplingParams } from "../../src/generation/index.ts";
import type { Environment } from "../../src/envs/index.ts";
import { groupRollout, episodeMetrics, RequestBatcher, type BatchGenerator } from "../../src/rollout/index.ts";
import { torch } from "../../src/torch/index.ts";

const modelDir = fileURLToPath(new URL("../../assets/default-model", import.meta.url));

/** Three turns whatever the model says: each step answers with a short user message. */
class ThreeTurns implements Environment<{ id: string; prompt: string }> {
  turn = 0;
  reset(task: { id: string; prompt: string }) {
    return { messages: [{ role: "user", content: task.prompt }] };
  }
  step() {
    this.turn++;
    return this.turn >= 3 ? { done: true, reward: this.turn } : { done: false, messages: [{ role: "user", content: `go ${this.turn}` }] };
  }
}

test("64 episodes in flight on the real engine: each trajectory holds exactly its own samples, none lost or duplicated", async () => {
  const before = torch.memory().numTensors;
  const model = loadPretrained(modelDir);
  const tokenizer = Tokenizer.fromPretrained(modelDir);
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen: 200 });
  const log: Completion[] = [];
  const recording: BatchGenerator = {
    async generate(requests, sampling: SamplingParams) {
      const out = await engine.generate(requests, sampling);
      log.push(...out);
      return out;
    },
  };
  try {
    const batcher = new RequestBatcher(recording);
    const tasks = Array.from({ length: 16 }, (_, i) => ({ id: `t${i}`, prompt: `${i}+${i}=` }));
    const groups = await groupRollout({
      tasks, n: 4, seed: 5, createEnv: () => new ThreeTurns(), taskId: (t) => t.id, batcher, tokenizer,
      toTemplate: toTemplateMessages, parseAssistant: (text, o) => parseToolCalls(text, "hermes", o),
      sampling: { temperature: 1 }, budget: { maxTurns: 5, maxTokensPerTurn: 12, maxSeqLen: 200 },
    });
    const records = groups.flatMap((g) => g.records);
    assert.equal(records.length, 64);
    assert.ok(records.every((r) => r.turns === 3 && r.reward === 3));
    assert.equal(log.length, 64 * 3, "one generation per turn per episode");
    assert.ok(batcher.calls <= 3 * 4, `episodes share generate calls (${batcher.calls} calls for ${log.length} turns)`);
    // Every logged completion appears in exactly one trajectory, right after the prompt it was sampled from.
    const used = new Set<Completion>();
    for (const r of records) {
      const t = r.trajectory;
      for (let at = 0; at < t.length; ) {
        if (t.lossMask[at] === 0) {
          at++;
          continue;
        }
        const c = log.find((x) => !used.has(x) && x.promptIds.length === at && x.promptIds.every((id, k) => id === t.ids[k]) && x.tokenIds.every((id, k) => id === t.ids[at + k]));
        assert.ok(c, "a sampled span matches a completion generated for exactly this prefix");
        assert.deepEqual(t.logprobs.slice(at, at + c.tokenIds.length), c.logprobs);
        used.add(c);
        at += c.tokenIds.length;
      }
    }
    assert.equal(used.size, log.length, "no completion lost or used twice");
    const m = episodeMetrics(records);
    assert.equal(m["agent/turns_per_episode"], 3);
    assert.ok(m["agent/masked_token_fraction"]! > 0 && m["agent/masked_token_fraction"]! < 1);
  } finally {
    engine.dispose();
    model.dispose();
  }
  assert.equal(torch.memory().numTensors, before, "no tensor leaked");
});
