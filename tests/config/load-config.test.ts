import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  ConfigFileError,
  ConfigInterpolationError,
  ConfigOverrideError,
  ConfigValidationError,
  extractConfigPath,
  loadGrpoConfig,
  loadSftConfig,
  readConfigFile,
  saveConfig,
} from "../../src/config/index.ts";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const env = { USER: "ada" };
const tmp = mkdtempSync(join(tmpdir(), "config-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function validationIssues(fn: () => unknown): ConfigValidationError["issues"] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigValidationError, `expected ConfigValidationError, got ${String(e)}`);
    assert.equal(e.name, "ConfigValidationError");
    assert.ok(e instanceof ConfigError);
    return e.issues;
  }
  assert.fail("expected a ConfigValidationError");
}

describe("loading YAML files", () => {
  test("primary GRPO layout: typed, camelCased, defaults filled, references resolved", () => {
    const { config, snake } = loadGrpoConfig({ path: join(fixtures, "grpo-primary.yaml"), env });
    assert.deepEqual(config.model, { path: "./models/tiny", dtype: "float32", seed: 0 });
    assert.equal(config.training.learningRate, 1e-5);
    assert.equal(config.training.gradientAccumulationSteps, 2);
    assert.equal(config.grpo.maxNewTokens, 256);
    assert.equal(config.grpo.loss, "dapo");
    assert.equal(config.grpo.filterZeroVariance, true, "default");
    assert.deepEqual(config.rewards, ["math", { name: "thinking", weight: 0.5, options: {} }]);
    assert.equal(config.services.generator.numReplicas, 2);
    assert.equal(config.services.generator.packWeights, false, "default");
    assert.deepEqual(config.services.refModel, { procs: 1, numReplicas: 1, withGpus: false, hosts: [] });
    assert.equal(config.checkpoint.folder, "runs/tiny/ckpt");
    assert.equal(config.metricLogging.jsonl?.path, "runs/tiny/metrics.jsonl");
    assert.equal(config.metricLogging.wandb?.group, "grpo_exp_ada");
    assert.equal(config.eval.evalEveryNSteps, 25);
    assert.equal(config.placement, "colocated");
    // The snake_case twin keeps the YAML's spelling for saving.
    assert.equal(snake.training.learning_rate, 1e-5);
  });

  test("seed-style GRPO layout validates", () => {
    const { config } = loadGrpoConfig({ path: join(fixtures, "grpo-seed-style.yaml"), env });
    assert.equal(config.model.path, "Qwen/Qwen3-1.7B");
    assert.equal(config.policy?.samplingParams?.n, 8);
    assert.equal(config.services.policy?.procs, 1);
    assert.equal(config.replayBuffer.dpSize, 1);
    assert.equal(config.trainer?.model?.hfAssetsPath, "hf://Qwen/Qwen3-1.7B");
    assert.equal(config.dataset.model, "Qwen/Qwen3-1.7B");
  });

  test("seed-style GRPO keys that are accepted but not read are named at load, with the key to use instead", () => {
    const { warnings } = loadGrpoConfig({ path: join(fixtures, "grpo-seed-style.yaml"), env });
    assert.equal(warnings.length, 1);
    const lines = warnings[0]!.split("\n");
    assert.match(lines[0]!, /accepted but NOT read/);
    for (const expected of [
      "  group_size (use grpo.n_samples)",
      "  trainer.optimizer.name, trainer.optimizer.lr, trainer.optimizer.eps (use optimizer.*)",
      "  trainer.training.steps (use training.steps)",
      "  policy.sampling_params.temperature (use grpo.temperature)",
      "  replay_buffer.batch_size, replay_buffer.max_policy_age, replay_buffer.dp_size (no equivalent here)",
    ]) assert.ok(lines.includes(expected), `missing ${JSON.stringify(expected)} in:\n${warnings[0]}`);
    assert.ok(!warnings[0]!.includes("parallelism"), "the parallelism degrees are checked, not ignored");
    assert.deepEqual(loadGrpoConfig({ path: join(fixtures, "grpo-primary.yaml"), env }).warnings, []);
    // An override into the seed layout is named too; the shipped configs have none.
    const { warnings: w } = loadGrpoConfig({ path: join(fixtures, "grpo-primary.yaml"), env, overrides: ["trainer.optimizer.lr=1e-3"] });
    assert.match(w[0]!, /\n  trainer\.optimizer\.lr \(use optimizer\.\*\)$/);
  });
  test("seed-style SFT layout validates (its FSDP sharding refused by name until replaced by replication)", () => {
    assert.throws(() => loadSftConfig({ path: join(fixtures, "sft-seed-style.yaml"), env }), /parallelism\.data_parallel_shard_degree: -1: sharded data parallelism/);
    const { config } = loadSftConfig({ path: join(fixtures, "sft-seed-style.yaml"), env, overrides: ["parallelism.data_parallel_shard_degree=1"] });
    assert.equal(config.model.hfAssetsPath, "hf://Qwen/Qwen3-8B");
    assert.equal(config.training.localBatchSize, 1);
    assert.equal(config.training.datasets?.[0].split, "train[:95%]");
    assert.equal(config.parallelism.dataParallelShardDegree, 1);
    assert.equal(config.processes.procs, 8);
    assert.equal(config.eval.maxEvalSteps, null);
  });

  test("SFT primary layout with defaults", () => {
    const { config } = loadSftConfig({ data: { model: "m", dataset: { path: "d.jsonl", format: "messages" } } });
    assert.equal(config.dataset?.format, "messages");
    assert.equal(config.dataset?.messagesKey, "messages");
    assert.equal(config.training.packing, false);
    assert.equal(config.lrScheduler.decayType, "constant");
  });

  test("missing file", () => {
    const path = join(tmp, "nope.yaml");
    assert.throws(() => readConfigFile(path), (e: unknown) => e instanceof ConfigFileError && e.path === path && /nope\.yaml: file not found/.test(e.message));
    assert.throws(() => readConfigFile(tmp), /is a directory/);
  });

  test("invalid YAML reports the line", () => {
    const path = join(fixtures, "bad-yaml.yaml");
    assert.throws(
      () => loadGrpoConfig({ path }),
      (e: unknown) => e instanceof ConfigFileError && e.name === "ConfigFileError" && e.line !== undefined && e.line >= 4 && e.message.includes(`bad-yaml.yaml:${e.line}`) && /invalid YAML/.test(e.message),
    );
  });

  test("duplicate keys and non-mapping top level are errors", () => {
    const dup = join(tmp, "dup.yaml");
    writeFileSync(dup, "a: 1\nb: 2\na: 3\n");
    assert.throws(() => readConfigFile(dup), (e: unknown) => e instanceof ConfigFileError && e.line === 3);
    const list = join(tmp, "list.yaml");
    writeFileSync(list, "- a\n- b\n");
    assert.throws(() => readConfigFile(list), /top level must be a mapping/);
    const empty = join(tmp, "empty.yaml");
    writeFileSync(empty, "# nothing\n");
    assert.deepEqual(readConfigFile(empty), {});
  });
});

describe("overrides through loadGrpoConfig", () => {
  const path = join(fixtures, "grpo-primary.yaml");
  test("both spellings, removal, and references that see overridden values", () => {
    const { config } = loadGrpoConfig({
      path,
      env,
      overrides: ["training.learning_rate=3e-6", "--services.generator.num_replicas", "4", "--grpo.beta=0", "~services.ref_model", "training.seq_len=64", "rewards=[math,format]"],
    });
    assert.equal(config.training.learningRate, 3e-6);
    assert.equal(config.services.generator.numReplicas, 4);
    assert.equal(config.grpo.beta, 0);
    assert.equal(config.services.refModel, undefined);
    assert.equal(config.grpo.maxNewTokens, 64, "${training.seq_len} resolves after overrides");
    assert.deepEqual(config.rewards, ["math", "format"]);
  });
  test("an override with the wrong type is a validation error naming the path", () => {
    const issues = validationIssues(() => loadGrpoConfig({ path, env, overrides: ["training.steps=many"] }));
    assert.deepEqual(issues, [{ path: "training.steps", message: 'expected number, got string "many"' }]);
  });
  test("an override with a typo'd key gets a suggestion", () => {
    const issues = validationIssues(() => loadGrpoConfig({ path, env, overrides: ["--training.learning_rte", "1e-4"] }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, "training.learning_rte");
    assert.equal(issues[0].suggestion, "learning_rate");
  });
  test("bad override syntax surfaces as ConfigOverrideError", () => {
    assert.throws(() => loadGrpoConfig({ path, env, overrides: ["training.steps"] }), ConfigOverrideError);
  });
  test("interpolation errors surface as ConfigInterpolationError", () => {
    assert.throws(() => loadGrpoConfig({ path, env, overrides: ["grpo.max_new_tokens=${training.nope}"] }), ConfigInterpolationError);
    assert.throws(() => loadGrpoConfig({ path, env, overrides: ["training.steps=${grpo.n_samples}", "grpo.n_samples=${training.steps}"] }), /reference cycle/);
  });
});

describe("validation errors", () => {
  const minimal = { model: "m", dataset: { path: "d" } };
  test("unknown keys: nearest valid key for a typo, the valid list otherwise", () => {
    const issues = validationIssues(() => loadGrpoConfig({ data: { ...minimal, trainig: {}, grpo: { n_sample: 4 }, zzzzzz: 1 } }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.equal(byPath["trainig"].suggestion, "training");
    assert.equal(byPath["grpo.n_sample"].suggestion, "n_samples");
    assert.equal(byPath["zzzzzz"].suggestion, undefined);
    assert.match(byPath["zzzzzz"].message, /valid keys here: .*training.*grpo/);
  });
  test("typo inside a union member and inside a record value", () => {
    const issues = validationIssues(() => loadGrpoConfig({ data: { ...minimal, model: { pth: "x" }, actors: { a: { procz: 1 } } } }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.equal(byPath["model.pth"].suggestion, "path");
    assert.equal(byPath["actors.a.procz"].suggestion, "procs");
  });
  test("wrong types, enums, ranges and missing sections", () => {
    const issues = validationIssues(() =>
      loadGrpoConfig({ data: { model: 3, training: { steps: "abc", dtype: "fp8", batch_size: 0 }, services: { generator: { with_gpus: "yes" } } } }),
    );
    const msg = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    assert.equal(msg["model"], "expected string or mapping, got integer 3");
    assert.equal(msg["dataset"], "required mapping is missing");
    assert.equal(msg["training.steps"], 'expected number, got string "abc"');
    assert.equal(msg["training.dtype"], 'expected one of "float32" | "bfloat16" | "float16", got string "fp8"');
    assert.match(msg["training.batch_size"], />0, got integer 0/);
    assert.equal(msg["services.generator.with_gpus"], 'expected boolean, got string "yes"');
  });
  test("the error message lists every problem with its path", () => {
    try {
      loadGrpoConfig({ data: { ...minimal, trainig: {} } });
      assert.fail("should throw");
    } catch (e) {
      assert.match((e as Error).message, /invalid config \(1 problem\):\n  trainig: unknown key \(did you mean "training"\?\)/);
    }
  });
});

describe("saveConfig", () => {
  test("writes YAML atomically and reloads to the same config", () => {
    const { config, snake } = loadGrpoConfig({ path: join(fixtures, "grpo-primary.yaml"), env });
    const out = join(tmp, "run", "config.yaml");
    saveConfig(out, snake, { header: "resolved config\nline two" });
    const text = readFileSync(out, "utf8");
    assert.match(text, /^# resolved config\n# line two\n/);
    assert.match(text, /learning_rate: 0.00001|learning_rate: 1e-5/);
    assert.deepEqual(readdirSync(join(tmp, "run")), ["config.yaml"], "no temp file left behind");
    assert.deepEqual(loadGrpoConfig({ path: out }).config, config);
  });
});

describe("extractConfigPath", () => {
  test("finds --config in any spelling and keeps the rest", () => {
    assert.deepEqual(extractConfigPath(["--config", "a.yaml", "x=1"]), { configPath: "a.yaml", rest: ["x=1"] });
    assert.deepEqual(extractConfigPath(["x=1", "--config=b.yaml"]), { configPath: "b.yaml", rest: ["x=1"] });
    assert.deepEqual(extractConfigPath(["-c", "c.yaml"]), { configPath: "c.yaml", rest: [] });
    assert.deepEqual(extractConfigPath(["--a.b", "2"]), { configPath: undefined, rest: ["--a.b", "2"] });
    assert.throws(() => extractConfigPath(["--config"]), ConfigOverrideError);
  });
});
