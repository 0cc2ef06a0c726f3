/**
 * An agent written the way people write agents: the `openai` client, a tool, a loop. Nothing in
 * it knows about RL. `forge grpo --config apps/agent/calculator_openai.yaml` trains the policy
 * it talks to: each episode's `client` points at the generator's OpenAI-compatible endpoint,
 * every call is recorded token by token, and the number returned is the episode's reward.
 *
 * Pointed at any OpenAI-compatible server (`forge serve --model assets/agent-model`) it runs as
 * is: `node --import tsx examples/agents/calculator-agent.ts http://127.0.0.1:8000/v1`.
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { pathToFileURL } from "node:url";
import { calculatorTool, callTool, numericAnswerReward } from "../../src/envs/index.ts";

export interface CalculatorTask {
  prompt: string;
  target: string;
}

/** Asks, runs calculator calls until the model answers (at most 3 turns), and scores the answer. */
export async function calculatorAgent(client: OpenAI, task: CalculatorTask): Promise<number> {
  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: task.prompt }];
  for (let turn = 0; turn < 3; turn++) {
    const reply = await client.chat.completions.create({ model: "policy", messages, tools: [calculatorTool.spec], max_tokens: 64 });
    const message = reply.choices[0]!.message;
    messages.push(message);
    const calls = message.tool_calls ?? [];
    if (calls.length === 0) return numericAnswerReward(message.content ?? "", task.target);
    for (const call of calls) {
      if (call.type !== "function") continue;
      const result = await callTool([calculatorTool], { id: call.id, type: "function", function: call.function });
      messages.push({ role: "tool", tool_call_id: call.id, content: result.content });
    }
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const baseURL = process.argv[2] ?? "http://127.0.0.1:8000/v1";
  const reward = await calculatorAgent(new OpenAI({ baseURL, apiKey: "none" }), { prompt: "What is 123*45?", target: "5535" });
  console.log(`reward: ${reward}`);
}
