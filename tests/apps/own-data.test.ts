// Your own data through the apps: GRPO and SFT on custom JSONL/Parquet with field mapping, a
// transform module and chat prompts, and the config-level errors of the dataset section.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";
import { runGrpo } from "../../apps/grpo/grpo-run.ts";
import { runSft } from "../../apps/sft/sft-run.ts";
import { resolveDataset, type DatasetSpec } from "../../apps/shared/resolve-dataset.ts";
import { encodePrompt } from "../../apps/shared/prompts.ts";
import { Tokenizer } from "../../src/models/index.ts";
import { TINY_TOKENIZER_DIR } from "../../apps/shared/resolve-model.ts";
import { writeParquet } from "../data/helpers/write-parquet.ts";
import { addSnapshot } from "../data/helpers/fake-hub-cache.ts";
import { gsm8kDir, gsm8kMissing } from "../fixtures/datasets.ts";

const quiet = { log: () => undefined, progress: false };
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "tf-own-data-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const spec = (over: Partial<DatasetSpec>): DatasetSpec => ({
  path: "",
  split: "train",
  evalSplit: null,
  maxSamples: null,
  seed: 0,
  ...over,
});

test("GRPO trains one step on a custom JSONL file with renamed fields (tiny model)", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "sums.jsonl");
  writeFileSync(file, jsonl(Array.from({ length: 12 }, (_, i) => ({ q: `${i % 5}+1=`, sol: String((i % 5) + 1) }))));
  const { config, snake } = loadGrpoConfig({
    data: {
      output_dir: join(dir, "run"),
      model: { preset: "tiny", seed: 1 },
      dataset: { path: file, prompt_field: "q", answer_field: "sol", prompt_format: "raw", max_samples: 8 },
      training: { batch_size: 8, learning_rate: 1e-3, steps: 1, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 6, max_prompt_tokens: 24, filter_zero_variance: false },
      checkpoint: { enable: false, folder: join(dir, "ckpt") },
    },
  });
  const r = await runGrpo({ config, rawConfig: snake, ...quiet });
  assert.equal(r.steps, 1);
  const line = JSON.parse(
    readFileSync(join(dir, "run", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")[0]!,
  );
  assert.ok(typeof (line.metrics ?? line)["reward/mean"] === "number", "the step scored completions against the mapped answers");
});

test("a transform module builds chat prompts; the system prompt goes first unless the chat has one", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "data"));
  writeFileSync(
    join(dir, "data", "train.jsonl"),
    jsonl([
      { a: 1, b: 2 },
      { a: 0, b: 0, skip: true },
      { a: 3, b: 4 },
    ]),
  );
  writeFileSync(join(dir, "data", "test.jsonl"), jsonl([{ a: 5, b: 5 }]));
  const data = await resolveDataset(
    spec({ path: join(dir, "data"), evalSplit: "test", transform: "tests/apps/fixtures/sum-transform.ts" }),
  );
  assert.deepEqual(
    data.train.map((e) => [e.id, e.prompt, e.target]),
    [
      ["train-1", "1+2=", "3"],
      ["train-3", "3+4=", "7"],
    ],
  );
  assert.deepEqual(
    data.eval.map((e) => e.target),
    ["10"],
  );
  const tokenizer = Tokenizer.fromPretrained(TINY_TOKENIZER_DIR);
  const format = { promptFormat: "chat" as const, systemPrompt: "Add." };
  const ids = encodePrompt(tokenizer, data.train[0]!, format);
  const expected = tokenizer.applyChatTemplate(
    [
      { role: "system", content: "Add." },
      { role: "user", content: "1+2=" },
    ],
    { addGenerationPrompt: true, tokenize: true },
  );
  assert.deepEqual(ids, expected);
  const withSystem = { ...data.train[0]!, messages: [{ role: "system" as const, content: "Own." }, ...data.train[0]!.messages!] };
  assert.deepEqual(
    encodePrompt(tokenizer, withSystem, format),
    tokenizer.applyChatTemplate(
      withSystem.messages.map((m) => ({ role: m.role, content: m.content })),
      { addGenerationPrompt: true, tokenize: true },
    ),
  );
  await assert.rejects(
    resolveDataset(spec({ path: join(dir, "data"), transform: "tests/apps/fixtures/sum-transform.ts", promptFormat: "raw" })),
    /dataset.prompt_format 'raw' cannot encode the chat \(messages\) prompt of 'train-1'; use prompt_format: chat/,
  );
  await assert.rejects(
    resolveDataset(spec({ path: join(dir, "data"), transform: "tests/apps/fixtures/sum-transform.ts#notAFunction" })),
    /dataset.transform 'tests\/apps\/fixtures\/sum-transform.ts#notAFunction' must export a function/,
  );
  await assert.rejects(
    resolveDataset(spec({ path: join(dir, "data"), transform: "tests/apps/fixtures/sum-transform.ts#nope" })),
    /module has no export 'nope'/,
  );
  await assert.rejects(
    resolveDataset(spec({ path: join(dir, "data"), transform: "tests/apps/fixtures/sum-transform.ts", promptField: "a" })),
    /dataset.transform builds each record itself; remove dataset.prompt_field/,
  );
});

test("dataset section errors and aliases: eval_split on one file, prompt_key vs prompt_field, data_split, a missing eval split", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "one.jsonl");
  writeFileSync(file, jsonl([{ question: "q", answer: "1" }]));
  await assert.rejects(
    resolveDataset(spec({ path: file, evalSplit: "test" })),
    /dataset.eval_split 'test' needs a folder of split files; dataset.path '.*one.jsonl' is one file/,
  );
  await assert.rejects(
    resolveDataset(spec({ path: file, promptField: "question", promptKey: "q" })),
    /dataset.prompt_field 'question' and dataset.prompt_key 'q' disagree/,
  );
  assert.equal((await resolveDataset(spec({ path: file, promptKey: "question", answerKey: "answer" }))).train[0]!.prompt, "q");
  writeFileSync(join(dir, "validation.jsonl"), jsonl([{ question: "v", answer: "2" }]));
  assert.equal(
    (await resolveDataset(spec({ path: dir, dataSplit: "validation" }))).train[0]!.prompt,
    "v",
    "the seed's data_split wins over split",
  );
  await assert.rejects(
    resolveDataset(spec({ path: dir, split: "validation", evalSplit: "dev" })),
    /dataset.eval_split 'dev': dataset not found at .*: no files for split 'dev'/,
  );
});

test("SFT trains from a Parquet folder with renamed prompt/response fields", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "data", "data"), { recursive: true });
  const rows = Array.from({ length: 8 }, (_, i) => ({ instruction: `say ${i}`, output: `<answer>${i}</answer>` }));
  const cols = [
    { name: "instruction", kind: "string" as const },
    { name: "output", kind: "string" as const },
  ];
  writeParquet(join(dir, "data", "data", "train-00000-of-00001.parquet"), cols, rows, 3);
  writeParquet(join(dir, "data", "data", "test-00000-of-00001.parquet"), cols, rows.slice(0, 2), 3);
  const { config, snake } = loadSftConfig({
    data: {
      output_dir: join(dir, "run"),
      model: { preset: "tiny", seed: 0 },
      dataset: { path: join(dir, "data"), eval_split: "test", prompt_field: "instruction", response_key: "output", prompt_format: "raw" },
      training: { batch_size: 4, learning_rate: 1e-3, seq_len: 32, steps: 1 },
      checkpoint: { enable: false, folder: join(dir, "ckpt") },
      eval: { eval_every_n_steps: 1, num_prompts: 2 },
    },
  });
  const lines: string[] = [];
  const r = await runSft({ config, rawConfig: snake, log: (l) => lines.push(l), progress: false });
  assert.equal(r.steps, 1);
  assert.ok(
    lines.some((l) => /8 training rows/.test(l)),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => /held-out loss .* over 2 examples/.test(l)),
    lines.join("\n"),
  );
  const bad = loadSftConfig({ data: { ...snake, output_dir: join(dir, "run2"), dataset: { ...snake.dataset, response_key: "answer" } } });
  await assert.rejects(
    runSft({ config: bad.config, rawConfig: bad.snake, ...quiet }),
    /train-00000-of-00001.parquet row 1: field "answer" missing \(have: instruction, output\)/,
  );
});

test("the seed's `openai/gsm8k` (revision main, data_split) resolves from the hub cache layout; the same rows as the JSONL", async (t) => {
  const cache = tempDir(t);
  const fixture = fileURLToPath(new URL("../data/fixtures/gsm8k-parquet/main/test-00000-of-00001.parquet", import.meta.url));
  addSnapshot(
    cache,
    { type: "datasets", id: "openai/gsm8k", commit: "e53f048856ff4f594e959d75785d2c2d37b678ee", refs: ["main"] },
    {
      "main/test-00000-of-00001.parquet": readFileSync(fixture),
      "README.md": "GSM8K",
    },
  );
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  t.after(() => (saved === undefined ? delete process.env.HF_HUB_CACHE : (process.env.HF_HUB_CACHE = saved)));
  const { config } = loadGrpoConfig({
    path: fileURLToPath(new URL("../config/fixtures/grpo-seed-style.yaml", import.meta.url)),
    overrides: ["dataset.data_split=test"],
  });
  const fromHub = await resolveDataset(config.dataset);
  assert.equal(fromHub.train.length, 5);
  assert.equal(fromHub.train[0]!.target, "18");
  const missing = gsm8kMissing();
  if (missing) return t.skip(missing);
  const fromJsonl = await resolveDataset(spec({ path: gsm8kDir(), split: "test", maxSamples: 5 }));
  assert.deepEqual(
    fromHub.train.map((e) => [e.prompt, e.target]),
    fromJsonl.train.map((e) => [e.prompt, e.target]),
  );
});
