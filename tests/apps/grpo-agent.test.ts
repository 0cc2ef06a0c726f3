import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigValidationError, loadGrpoConfig } from "../../src/config/index.ts";
import { torch } from "../../src/torch/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";

const agentTokenizer = fileURLToPath(new URL("../../assets/tiny-agent-tokenizer", import.meta.url));
const agentExample = fileURLToPath(new URL("../../examples/agents/calculator-agent.ts", import.meta.url));

/** Two GRPO steps of a tiny random model on the calculator task: the agentic wiring end to end. */
function agentConfig(dir: string, environment: Record<string, unknown>, overrides: string[] = []) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      model: { preset: "tiny", seed: 1, tokenizer_path: agentTokenizer },
      dataset: { path: "arithmetic:mul-3x2", split: "train", eval_split: "test" },
      training: { batch_size: 8, learning_rate: 1e-3, steps: 2, seed: 0, seq_len: 160 },
      grpo: { n_samples: 4, beta: 0, temperature: 0.7, filter_zero_variance: false },
      environment: { max_turns: 3, max_tokens_per_turn: 24, ...environment },
      checkpoint: { folder: "${output_dir}/ckpt", interval: 2 },
      eval: { eval_every_n_steps: 2, num_prompts: 4 },
    },
    overrides,
  });
}

const quiet = { log: () => undefined, progress: false };

test("GRPO on a built-in environment: multi-turn episodes train, agent metrics are logged, nothing leaks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-agent-"));
  const before = torch.memory().numTensors;
  const { config, snake } = agentConfig(dir, { name: "calculator-arithmetic" });
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 2);
  assert.deepEqual(r.evals.map((e) => e.step), [0, 2]);
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const m = lines[1].metrics ?? lines[1];
  for (const k of ["agent/turns_per_episode", "agent/tool_calls_per_episode", "agent/masked_token_fraction", "agent/episode_length", "loss/value", "eval/accuracy"]) {
    assert.ok(k in m || k in (lines[2].metrics ?? lines[2]), `metric ${k} missing (have ${Object.keys(m).join(", ")})`);
  }
  assert.ok(m["agent/turns_per_episode"] >= 1);
  const page = readFileSync(r.dashboardPath!, "utf8");
  assert.match(page, /Sampled trajectories \(step 2/, "the dashboard shows the latest eval's trajectories");
  assert.match(page, /<mark>/, "with the trained tokens highlighted");
  assert.equal(torch.memory().numTensors, before, "the run freed every tensor it made");
});

test("GRPO on an agent function: the openai client's calls through the endpoint are what trains", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-agent-fn-"));
  const { config, snake } = agentConfig(dir, { agent: `${agentExample}#calculatorAgent` }, ["training.steps=1", "~eval.eval_every_n_steps"]);
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 1);
  const m = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").at(-1)!);
  const metrics = m.metrics ?? m;
  assert.ok(metrics["agent/turns_per_episode"] >= 1, "episodes were recorded from the agent's calls");
  assert.ok(metrics["loss/value"] !== undefined);
});

test("environment config: exactly one of name or agent; agent functions need colocated placement", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-agent-cfg-"));
  assert.throws(() => agentConfig(dir, {}), (e: Error) => e instanceof ConfigValidationError && /exactly one of environment.name/.test(e.message));
  assert.throws(() => agentConfig(dir, { agent: "x.ts#a" }, ["placement=separate"]), /agent functions run with placement: colocated/);
});

test("an unknown environment name lists the built-ins", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-agent-bad-"));
  const { config, snake } = agentConfig(dir, { name: "calculator-arithmetc" });
  await assert.rejects(runGrpo({ config, rawConfig: snake, ...quiet }), /calculator-arithmetic/);
});
