// Picks the agentic task's starting checkpoint from an SFT run's checkpoints and writes it, with
// the agent tokenizer, to assets/agent-model (`make agent-model` runs this after the SFT app).
// Usage: npx tsx scripts/pick-agent-checkpoint.ts [checkpointsDir] [outDir] [--low 0.25] [--high 0.5]
//
// Why pick instead of a fixed step count: the ability to copy operands and results forms abruptly
// (held-out success 1% → 74% between steps 600 and 700 in one run) and CPU training is not
// bit-reproducible, so the step where a run is "imperfect enough" moves from run to run. Each
// checkpoint, oldest first, runs greedy episodes on 200 validation problems (train problems the
// SFT data did not use: never the test split); the first with success in [low, high] wins, else
// the one closest to their middle.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { GenerationEngine } from "../src/generation/index.ts";
import { loadPretrained, Tokenizer } from "../src/models/index.ts";
import { MultiplicationTask } from "../src/data/index.ts";
import { runAgentEpisodes, summarize } from "../bench/agent-episodes.ts";
import { AGENT_TASK, AGENT_TRAIN_SIZE } from "./make-agent-sft-data.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const positional = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const checkpoints = positional[0] ?? "runs/sft-agent/checkpoints";
const outDir = positional[1] ?? "assets/agent-model";
const low = flag("--low", 0.25);
const high = flag("--high", 0.5);
const tokenizerDir = "assets/tiny-agent-tokenizer";

const tokenizer = Tokenizer.fromPretrained(tokenizerDir);
const validation = new MultiplicationTask(AGENT_TASK).train.slice(AGENT_TRAIN_SIZE, AGENT_TRAIN_SIZE + 200);
const steps = readdirSync(checkpoints)
  .map((n) => /^step-(\d+)$/.exec(n))
  .filter((m): m is RegExpExecArray => m !== null && existsSync(join(checkpoints, m[0], "model", "model.safetensors")))
  .map((m) => Number(m[1]))
  .sort((a, b) => a - b);
if (!steps.length) throw new Error(`no step-N/model checkpoints in ${checkpoints}; run the SFT app with checkpoint.enable=true`);

let best: { step: number; success: number } | null = null;
for (const step of steps) {
  const model = loadPretrained(join(checkpoints, `step-${step}`, "model"));
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen: model.maxPositions });
  const { success } = summarize(await runAgentEpisodes({ engine, tokenizer, tasks: validation, greedy: true }));
  engine.dispose();
  model.dispose();
  console.log(`step ${step}: greedy validation success ${(success * 100).toFixed(1)}%`);
  const mid = (low + high) / 2;
  if (!best || Math.abs(success - mid) < Math.abs(best.success - mid)) best = { step, success };
  if (success >= low && success <= high) break;
  if (success > high) break; // later checkpoints only get better
}
const chosen = join(checkpoints, `step-${best!.step}`, "model");
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(chosen, f), join(outDir, f));
for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokenizerDir, f), join(outDir, f));
console.log(`picked step ${best!.step} (${(best!.success * 100).toFixed(1)}%): wrote ${outDir}`);
