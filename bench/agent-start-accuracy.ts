/**
 * Held-out success of an agent checkpoint on the built-in `calculator-arithmetic` environment:
 * greedy and sampled, with the hand-written episode loop of bench/agent-episodes.ts. This is the
 * simple measuring stick for the starting checkpoint; the token-faithful rollout of src/rollout
 * is what training uses.
 *
 * Run: node --single-threaded-gc --import tsx bench/agent-start-accuracy.ts
 *        [--model assets/agent-model] [--tokenizer DIR] [--tasks 200] [--temperature 0.8]
 *        [--samples 2] [--max-turns 3] [--max-tokens 96] [--show 2]
 */
import { GenerationEngine } from "../src/generation/index.ts";
import { loadPretrained, Tokenizer } from "../src/models/index.ts";
import { MultiplicationTask } from "../src/data/index.ts";
import { runAgentEpisodes, summarize, type Episode } from "./agent-episodes.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const modelDir = opt("model", "assets/agent-model");
const tokenizer = Tokenizer.fromPretrained(opt("tokenizer", modelDir));
const model = loadPretrained(modelDir);
const numTasks = Number(opt("tasks", "200"));
const temperature = Number(opt("temperature", "0.8"));
const samples = Number(opt("samples", "2"));
const maxTurns = Number(opt("max-turns", "3"));
const maxTokens = Number(opt("max-tokens", "96"));
const show = Number(opt("show", "2"));
// The task split the SFT data leaves unseen (scripts/make-agent-sft-data.ts uses the same options).
const tasks = new MultiplicationTask({ level: "mul-3x2", seed: 0, testSize: 500 }).test.slice(0, numTasks);
const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen: model.maxPositions });
const run = (greedy: boolean, n: number) => runAgentEpisodes({ engine, tokenizer, tasks, greedy, temperature, samples: n, maxTurns, maxTokens });

function report(label: string, eps: Episode[]): void {
  const m = summarize(eps);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(
    `${label}: success ${pct(m.success)} over ${eps.length} episodes | called the tool ${pct(m.calledTool)} | ` +
      `tool errors/episode ${m.toolErrors.toFixed(2)} | turns ${m.turns.toFixed(2)} | truncated ${pct(m.truncated)}`,
  );
  for (const e of eps.slice(0, show)) console.log("  " + JSON.stringify(tokenizer.applyChatTemplate(e.messages, { tools: e.tools })));
}

const t0 = performance.now();
report(`greedy (${tasks.length} test tasks)`, await run(true, 1));
report(`sampled T=${temperature} (${tasks.length} tasks × ${samples})`, await run(false, samples));
console.log(`model ${modelDir}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
engine.dispose();
model.dispose();
