/**
 * Held-out greedy accuracy of the base SmolLM2-135M-Instruct GGUF on candidate GRPO tasks: which
 * task/prompt leaves room to learn (5-60% before training) with a verifiable answer.
 * Reports strict accuracy (the eval's `MathReward`: `<answer>N</answer>` equals the target) and
 * loose accuracy (the target number appears anywhere), so format and arithmetic are told apart.
 *
 * Run: node --single-threaded-gc --import tsx bench/smollm2-task-probe.ts [--n 100] [--max-tokens 32]
 *        [--gguf ~/.cache/torchforge/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf] [--only NAME]
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { GenerationEngine } from "../src/generation/index.ts";
import { loadGguf } from "../src/models/index.ts";
import { ArithmeticTask, type ArithmeticLevel } from "../src/data/index.ts";
import { MathReward } from "../src/rewards/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const gguf = opt("gguf", join(homedir(), ".cache/torchforge/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"));
const n = Number(opt("n", "100"));
const maxTokens = Number(opt("max-tokens", "32"));
const only = opt("only", "");
const samples = Number(opt("samples", "0"));

const { model, tokenizer } = loadGguf(gguf, { dtype: "float32" });
const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: 64, maxSeqLen: 256 });
const judge = new MathReward({ partialCredit: 0 });

interface Candidate {
  name: string;
  level: ArithmeticLevel;
  /** Chat messages before the question (system prompt, one-shot turns); null: raw text, no template. */
  messages: { role: string; content: string }[] | null;
  prompt?: (question: string) => string;
  /** Overrides the level's largest operand. */
  max?: number;
}
const TAG_SYS = "Reply only with the final number inside <answer></answer>, for example <answer>42</answer>.";
const ONE_SHOT = [
  { role: "user", content: "What is 3+4?" },
  { role: "assistant", content: "<answer>7</answer>" },
];
const ONE_SHOT_2D = [
  { role: "user", content: "What is 12+30?" },
  { role: "assistant", content: "<answer>42</answer>" },
];
const FEW_SHOT_RAW = "What is 3+4? <answer>7</answer>\nWhat is 12+30? <answer>42</answer>\n";
const candidates: Candidate[] = [
  { name: "add-1d/tag-in-user", level: "add-1d", messages: [], prompt: (q) => `${q} Put the number in <answer></answer>.` },
  { name: "add-2d/tag-in-user", level: "add-2d", messages: [], prompt: (q) => `${q} Put the number in <answer></answer>.` },
  { name: "add-1d/tag-system", level: "add-1d", messages: [{ role: "system", content: TAG_SYS }] },
  { name: "add-2d/tag-system", level: "add-2d", messages: [{ role: "system", content: TAG_SYS }] },
  { name: "add-1d/one-shot", level: "add-1d", messages: ONE_SHOT },
  { name: "add-2d/one-shot", level: "add-2d", messages: ONE_SHOT },
  { name: "add-2d/raw-few-shot", level: "add-2d", messages: null, prompt: (q) => `${FEW_SHOT_RAW}${q}` },
  { name: "add-0-19/form", level: "add-2d", max: 19, messages: [], prompt: (q) => `${q} Answer in the form <answer>N</answer>.` },
  { name: "add-0-19/reply-only", level: "add-2d", max: 19, messages: [], prompt: (q) => `${q} Reply with <answer>N</answer> only.` },
  { name: "add-0-19/example-user", level: "add-2d", max: 19, messages: [], prompt: (q) => `Example: What is 3+4? <answer>7</answer>\nNow: ${q}` },
  { name: "add-0-19/tag-in-user", level: "add-2d", max: 19, messages: [], prompt: (q) => `${q} Put the number in <answer></answer>.` },
  { name: "add-0-19/one-shot", level: "add-2d", max: 19, messages: ONE_SHOT },
  { name: "add-0-49/one-shot", level: "add-2d", max: 49, messages: ONE_SHOT },
  { name: "add-2d/one-shot-2d", level: "add-2d", messages: ONE_SHOT_2D },
];

for (const c of candidates) {
  if (only && !only.split(",").some((o) => c.name.includes(o))) continue;
  const split = c.level.endsWith("1d") ? { testFraction: 0.2 } : { testSize: c.max ? 100 : 200 };
  const task = new ArithmeticTask({ level: c.level, seed: 0, ...split, ...(c.max ? { maxOperand: c.max } : {}) });
  const examples = task.test.slice(0, n);
  const prompts = examples.map((e) => {
    const text = c.prompt ? c.prompt(e.prompt) : e.prompt;
    if (c.messages === null) return tokenizer.encode(text, { addSpecialTokens: true });
    const messages = [...c.messages, { role: "user", content: text }];
    return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true }) as number[];
  });
  const t0 = performance.now();
  const out = await engine.generate(
    prompts.map((prompt) => ({ prompt })),
    { greedy: true, maxTokens },
  );
  let strict = 0;
  let loose = 0;
  let tokens = 0;
  out.forEach((o, i) => {
    const target = examples[i]!.target;
    if (judge.evaluate("", o.text, target) === 1) strict++;
    if (new RegExp(`(^|\\D)${target}(\\D|$)`).test(o.text)) loose++;
    tokens += o.tokenIds.length;
  });
  let sampledStrict = 0;
  if (samples > 0) {
    const sampled = await engine.generate(
      prompts.map((prompt) => ({ prompt })),
      { n: samples, temperature: 1, maxTokens, seed: 1 },
    );
    for (const o of sampled) if (judge.evaluate("", o.text, examples[o.requestIndex]!.target) === 1) sampledStrict++;
    sampledStrict /= samples;
  }
  const pct = (x: number) => `${((x / out.length) * 100).toFixed(1)}%`;
  console.log(
    `${c.name}: strict ${pct(strict)} loose ${pct(loose)} over ${out.length} | prompt ${prompts[0]!.length} tok, ` +
      `sampled(T=1) strict ${pct(sampledStrict)} | response ${(tokens / out.length).toFixed(1)} tok | ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const o of out.slice(0, 3)) console.log("   " + JSON.stringify(o.text));
}
engine.dispose();
model.dispose();
