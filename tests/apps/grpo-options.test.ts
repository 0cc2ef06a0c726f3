// The GRPO app with the options its other tests leave at one value: zero-variance filtering on
// (the default), unscaled advantages, a sampling temperature ≠ 1 and a reference model. The
// first step trains on the reference policy, so its KL is ≈ 0 only when the reference logprobs
// are scored at the same temperature as the policy's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";

test("GRPO app: filter_zero_variance on, scale_advantages false, temperature 0.5, beta > 0: first-step KL ≈ 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-grpo-options-"));
  const { config, snake } = loadGrpoConfig({
    data: {
      output_dir: dir,
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", eval_split: "test", prompt_format: "raw" },
      training: { batch_size: 16, learning_rate: 1e-3, steps: 1, seed: 0 },
      grpo: { n_samples: 4, beta: 0.05, temperature: 0.5, scale_advantages: false, max_new_tokens: 8, max_prompt_tokens: 24 },
      services: { ref_model: { procs: 1 } },
      rewards: ["tests/apps/fixtures/digit-reward.ts#digitFraction"],
      checkpoint: { folder: "${output_dir}/ckpt", interval: 10 },
    },
  });
  assert.equal(config.grpo.filterZeroVariance, true, "the default is on");
  const r = await runGrpo({ config, rawConfig: snake, log: () => undefined, progress: false });
  assert.equal(r.steps, 1);
  const line = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n")[0]!);
  const m = line.metrics ?? line;
  assert.ok(m["rollout/kept_group_fraction"] > 0 && m["rollout/kept_group_fraction"] <= 1, `kept fraction ${m["rollout/kept_group_fraction"]}`);
  assert.ok(Math.abs(m["loss/kl_ref"]) < 1e-4, `first-step KL to the reference at temperature 0.5: ${m["loss/kl_ref"]}`);
});
