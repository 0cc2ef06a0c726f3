import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadSftConfig } from "../../src/config/index.ts";
import { loadPretrained, Tokenizer } from "../../src/models/index.ts";
import { GenerationEngine } from "../../src/generation/index.ts";
import { MultiplicationTask } from "../../src/data/index.ts";
import { calculatorArithmeticEnv } from "../../src/envs/index.ts";

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

test("apps/sft/agent.yaml validates and trains on the agent tokenizer", () => {
  const { config } = loadSftConfig({ path: path("apps/sft/agent.yaml") });
  assert.equal(config.model.tokenizerPath, "assets/tiny-agent-tokenizer");
  assert.ok(config.training.seqLen >= 160, "a whole tool-call conversation fits");
});

test("assets/agent-model: its tokenizer matches the weights and it opens episodes with a calculator call", async () => {
  const dir = path("assets/agent-model");
  const tokenizer = Tokenizer.fromPretrained(dir);
  const model = loadPretrained(dir);
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 8, maxSeqLen: model.maxPositions });
  try {
    assert.equal(tokenizer.vocabSize, model.config.vocabSize);
    assert.equal(tokenizer.chatTemplate, Tokenizer.fromPretrained(path("assets/tiny-agent-tokenizer")).chatTemplate);
    const tasks = new MultiplicationTask({ level: "mul-3x2", seed: 0, testSize: 500 }).test.slice(0, 4);
    const env = calculatorArithmeticEnv();
    const prompts = tasks.map((t) => {
      const r = env.reset(t);
      return { prompt: tokenizer.applyChatTemplate(r.messages, { tools: r.tools, addGenerationPrompt: true, tokenize: true }) };
    });
    const out = await engine.generate(prompts, { greedy: true, maxTokens: 80 });
    // The format is learnt; copying the operands is not always right yet (that is GRPO's job).
    for (const c of out) assert.match(c.text, /^<tool_call>\{"name": "calculator", "arguments": \{"expression": "\d{3}\*\d{2}"\}\}<\/tool_call>$/);
    const { a, b } = tasks[1]!.problem;
    assert.equal(out[1]!.text, `<tool_call>{"name": "calculator", "arguments": {"expression": "${a}*${b}"}}</tool_call>`);
  } finally {
    engine.dispose();
    model.dispose();
  }
});
