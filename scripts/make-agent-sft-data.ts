// Writes the SFT conversations that teach the tiny agent model the calculator tool format
// (`make agent-model` runs this, then the SFT app with apps/sft/agent.yaml).
// Usage: npx tsx scripts/make-agent-sft-data.ts [outDir] [--train N] [--test N]
//   default outDir runs/agent-sft-data; writes train.jsonl and test.jsonl there.
//
// Each conversation: `What is 123*45?` → assistant calls the calculator → tool result →
// `<answer>5535</answer>`. Every example uses the tool; the checkpoint is imperfect because SFT
// stops early (apps/sft/agent.yaml), while copying the tool's result digit by digit is still
// unreliable. (A first try mixed in examples that answer from the head, so the model would call
// the tool only sometimes; it then blended its guess of the product into the copied result, and
// after 1,500 steps copied the result right only ~15% of the time.)
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MultiplicationTask, type MultiplicationExample } from "../src/data/index.ts";
import { calculatorTool } from "../src/envs/index.ts";

export const AGENT_TASK = { level: "mul-3x2", seed: 0, testSize: 500 } as const;
/** SFT trains on the first this-many train problems; the next ones are for validation. */
export const AGENT_TRAIN_SIZE = 20_000;
export function agentConversation(example: MultiplicationExample, callsTool = true) {
  const { a, b, answer } = example.problem;
  const messages: Record<string, unknown>[] = [{ role: "user", content: example.prompt }];
  if (callsTool) {
    // The argument string as the template's `tojson` writes the same object (Python spacing).
    const args = `{"expression": ${JSON.stringify(`${a}*${b}`)}}`;
    messages.push(
      { role: "assistant", content: "", tool_calls: [{ id: "call_0", type: "function", function: { name: calculatorTool.name, arguments: args } }] },
      { role: "tool", tool_call_id: "call_0", name: calculatorTool.name, content: String(answer) },
    );
  }
  messages.push({ role: "assistant", content: `<answer>${answer}</answer>` });
  return { tools: [calculatorTool.spec], messages };
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const outDir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ?? "runs/agent-sft-data";
  const task = new MultiplicationTask(AGENT_TASK);
  const lines = (examples: readonly MultiplicationExample[]) => examples.map((e) => JSON.stringify(agentConversation(e))).join("\n") + "\n";
  mkdirSync(outDir, { recursive: true });
  const train = task.train.slice(0, flag("--train", AGENT_TRAIN_SIZE));
  // The SFT eval split comes from the task's TRAIN problems after the ones trained on: the test
  // problems stay unseen for the agent benchmark and the GRPO run.
  const test = task.train.slice(train.length, train.length + flag("--test", 200));
  writeFileSync(join(outDir, "train.jsonl"), lines(train));
  writeFileSync(join(outDir, "test.jsonl"), lines(test));
  console.log(`wrote ${train.length} train and ${test.length} eval conversations to ${outDir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
