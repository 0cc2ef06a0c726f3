// The modules mutation testing covers (stryker.config.mjs, scripts/mutation.mjs): the sources
// where a silent bug corrupts training, and only the test files that exercise them.
export const MODULES = {
  // src/rl in three parts (advantages, collate, replay buffer) so each run stays short.
  rl: {
    mutate: ["src/rl/advantages.ts", "src/rl/random.ts", "src/rl/types.ts"],
    tests: ["tests/rl/advantages.test.ts", "tests/rl/advantages-options.test.ts", "tests/rl/advantages-precision.test.ts", "tests/rl/replay-buffer.test.ts"],
  },
  collate: {
    mutate: ["src/rl/collate.ts"],
    tests: ["tests/rl/collate.test.ts", "tests/rl/collate-validation.test.ts"],
  },
  "replay-buffer": {
    mutate: ["src/rl/replay-buffer.ts"],
    tests: ["tests/rl/replay-buffer.test.ts", "tests/rl/replay-buffer-validation.test.ts"],
  },
  losses: {
    mutate: ["src/rl/losses/*.ts", "!src/rl/losses/index.ts"],
    tests: ["tests/rl/losses.test.ts", "tests/rl/golden-losses.test.ts", "tests/rl/custom-loss.test.ts", "tests/rl/loss-edge-cases.test.ts", "tests/rl/loss-validation.test.ts"],
  },
  // src/rewards in two parts so each run stays under ~20 minutes here: the reward classes and
  // their option checks, and the math-answer equivalence they rely on.
  rewards: {
    mutate: ["src/rewards/*.ts", "!src/rewards/index.ts", "!src/rewards/errors.ts", "!src/rewards/math-equivalence.ts", "!src/rewards/exact-rational.ts", "!src/rewards/latex-answer.ts"],
    tests: [
      "tests/rewards/length-and-format.test.ts",
      "tests/rewards/math-reward.test.ts",
      "tests/rewards/thinking-reward.test.ts",
      "tests/rewards/reward-set.test.ts",
      "tests/rewards/gsm8k-rewards.test.ts",
      "tests/rewards/reward-checks.test.ts",
    ],
  },
  "rewards-math": {
    mutate: ["src/rewards/math-equivalence.ts", "src/rewards/exact-rational.ts", "src/rewards/latex-answer.ts"],
    tests: [
      "tests/rewards/math-equivalence.test.ts",
      "tests/rewards/exact-rational.test.ts",
      "tests/rewards/math-reward.test.ts",
      "tests/rewards/gsm8k-rewards.test.ts",
      "tests/rewards/math-known-answers.test.ts",
      "tests/rewards/latex-answer.test.ts",
    ],
  },
  "kv-cache": {
    mutate: ["src/generation/kv-cache.ts"],
    tests: ["tests/generation/kv-cache.test.ts", "tests/generation/kv-cache-state.test.ts"],
  },
  sampler: {
    mutate: ["src/generation/sampler.ts", "src/generation/rng.ts"],
    tests: ["tests/generation/sampling.test.ts", "tests/generation/sampler-paths.test.ts", "tests/generation/sampler-known-answers.test.ts"],
  },
  // The policy-loss path and the step metrics; trainer.ts (accumulation, clipping, skips) and
  // checkpoint.ts are not in the measured set yet (their test files take ~8 s per mutant).
  trainer: {
    mutate: ["src/trainer/policy-loss-fn.ts", "src/trainer/step-metrics.ts"],
    tests: [
      "tests/trainer/step-metrics.test.ts",
      "tests/trainer/policy-loss-plumbing.test.ts",
      "tests/trainer/policy-loss-inputs.test.ts",
      "tests/trainer/logprob-agreement.test.ts",
      "tests/trainer/grpo-learns.test.ts",
      "tests/trainer/trainer.test.ts",
    ],
  },
  "store-versioning": {
    mutate: ["src/store/versioned-store.ts", "src/store/version-gate.ts"],
    // in-process-store.test.ts never builds a VersionedStore; shared-memory-store.test.ts does (~30 s
    // a run) but versioned-store.test.ts covers the same paths over a scripted backend.
    tests: ["tests/store/version-gate.test.ts", "tests/store/version-gate-edges.test.ts", "tests/store/versioned-store.test.ts"],
  },
  "grpo-rollout": {
    mutate: ["apps/grpo/rollout.ts"],
    tests: ["tests/apps/rollout.test.ts", "tests/apps/finish-groups.test.ts", "tests/apps/grpo-options.test.ts"],
  },
};
