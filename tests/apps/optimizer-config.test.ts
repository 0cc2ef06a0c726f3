import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ConfigValidationError, loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import { optim } from "../../src/torch/index.ts";
import { GRPOLoss } from "../../src/rl/index.ts";
import { Trainer } from "../../src/trainer/index.ts";
import { trainerOptionsFromConfig } from "../../apps/shared/trainer-options.ts";
import { TinyLM } from "../trainer/helpers.ts";

const app = (p: string) => fileURLToPath(new URL(`../../apps/${p}`, import.meta.url));

/** The optimizer both apps build from `overrides` on their default configs. */
function optimizerFor(overrides: string[]) {
  const grpo = loadGrpoConfig({ path: app("grpo/default.yaml"), overrides: ["~optimizer.betas", ...overrides] }).config;
  const sft = loadSftConfig({ path: app("sft/default.yaml"), overrides: ["~optimizer.betas", ...overrides] }).config;
  return [grpo, sft].map((config) => {
    const { activationCheckpointing: _, ...options } = trainerOptionsFromConfig(config, () => undefined); // TinyLM has no checkpointing
    const t = new Trainer({ model: new TinyLM(0), loss: new GRPOLoss(), ...options });
    const o = t.optimizer;
    t.dispose();
    return o;
  });
}

test("optimizer.name picks the optimizer the apps build, with its own hyperparameters (it was always AdamW)", () => {
  for (const o of optimizerFor(["optimizer.name=SGD", "optimizer.momentum=0.9", "optimizer.nesterov=true", "optimizer.weight_decay=0.01"])) {
    assert.ok(o instanceof optim.SGD, o.constructor.name);
    assert.deepEqual(o.paramGroups[0]!.hyper, { lr: o.paramGroups[0]!.hyper.lr, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true });
  }
  for (const o of optimizerFor(["optimizer.name=Adam", "optimizer.betas=[0.8,0.9]", "optimizer.eps=1e-6"])) {
    assert.ok(o instanceof optim.Adam, o.constructor.name);
    assert.deepEqual({ ...o.paramGroups[0]!.hyper, lr: 0 }, { lr: 0, betas: [0.8, 0.9], eps: 1e-6, weightDecay: 0 });
  }
  for (const o of optimizerFor([])) {
    assert.ok(o instanceof optim.AdamW && !(o instanceof optim.Adam), o.constructor.name);
    assert.deepEqual({ ...o.paramGroups[0]!.hyper, lr: 0 }, { lr: 0, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }, "AdamW's defaults when betas/eps are unset");
  }
});

test("optimizer.lr overrides training.learning_rate, and the schedule's floor follows it", () => {
  const config = loadGrpoConfig({ path: app("grpo/default.yaml"), overrides: ["optimizer.lr=0.002", "training.learning_rate=0.5", "lr_scheduler.lr_min=0.001"] }).config;
  const o = trainerOptionsFromConfig(config, () => undefined);
  assert.equal((o.optimizer as { lr: number }).lr, 0.002);
  assert.equal(o.schedule!.minLrRatio, 0.5);
  const plain = trainerOptionsFromConfig(loadGrpoConfig({ path: app("grpo/default.yaml"), overrides: ["training.learning_rate=0.5"] }).config, () => undefined);
  assert.equal((plain.optimizer as { lr: number }).lr, 0.5);
});

test("a hyperparameter the named optimizer lacks is a config error naming the key", () => {
  const issues = (overrides: string[]) => {
    try {
      loadGrpoConfig({ path: app("grpo/default.yaml"), overrides });
    } catch (e) {
      assert.ok(e instanceof ConfigValidationError, String(e));
      return e.issues;
    }
    assert.fail("no error");
  };
  // default.yaml sets betas: with SGD they would be ignored.
  assert.deepEqual(issues(["optimizer.name=SGD"]), [{ path: "optimizer.betas", message: "betas is not an option of SGD (only of AdamW and Adam); remove it or change optimizer.name" }]);
  assert.deepEqual(issues(["optimizer.momentum=0.9"]), [{ path: "optimizer.momentum", message: "momentum is not an option of AdamW (only of SGD); remove it or change optimizer.name" }]);
  assert.deepEqual(issues(["optimizer.name=SGD", "~optimizer.betas", "optimizer.nesterov=true"]), [{ path: "optimizer.nesterov", message: "nesterov needs optimizer.momentum > 0" }]);
});
