// Column mapping from any row shape to prompt examples and SFT records: named or common fields,
// chat `messages` prompts, answer formats, transforms, and errors naming file, line/row and field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { DatasetRowError, loadPromptExamples, loadSftRecords, readRows, rowToPromptExample, type DataRow } from "../../src/data/index.ts";
import { writeParquet } from "./helpers/write-parquet.ts";

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

function tempDir(t: { after: (fn: () => void) => void }): string {
  // Inside the working directory, so errors show the relative path the user would type.
  const dir = mkdtempSync(join(process.cwd(), ".tmp-rowmap-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rejectsWith = (p: Promise<unknown>, message: string) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof DatasetRowError, `${e.name}: ${e.message}`);
    assert.equal(e.message, message);
    return true;
  });

test("named fields map any row shape; numbers and \\boxed answers become targets", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "train.jsonl");
  writeFileSync(
    file,
    jsonl([
      { q: "1+1?", a: 2 },
      { q: "area?", a: "so it is \\boxed{\\frac{1}{2}}" },
      { q: "name?", a: "  Paris " },
    ]),
  );
  const rows = await loadPromptExamples({ path: file, promptField: "q", answerField: "a" });
  assert.deepEqual(
    rows.map((r) => r.target),
    ["2", "\\frac{1}{2}", "Paris"],
  );
  assert.deepEqual(rows[0], { id: "train.jsonl:1", prompt: "1+1?", target: "2" });
  const raw = await loadPromptExamples({ path: file, promptField: "q", answerField: "a", answerFormat: "raw" });
  assert.equal(raw[1]!.target, "so it is \\boxed{\\frac{1}{2}}");
  await rejectsWith(
    loadPromptExamples({ path: file, promptField: "q", answerField: "a", answerFormat: "gsm8k" }),
    `${relative(process.cwd(), file)} line 2: field "a" must be text ending in '#### <number>' (answer_format gsm8k), got "so it is \\\\boxed{\\\\frac{1}{2}}"`,
  );
  await rejectsWith(
    loadPromptExamples({ path: file, promptField: "q", answerField: "a", answerFormat: "boxed" }),
    `${relative(process.cwd(), file)} line 3: field "a" must contain \\boxed{…} (answer_format boxed), got "  Paris "`,
  );
});

test("without field names the common ones are found (prompt, messages, question, problem / answer, target, ground_truth)", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "mixed.jsonl");
  writeFileSync(
    file,
    jsonl([
      { problem: "P", ground_truth: "7" },
      { question: "Q", answer: "work\n#### 1,234" },
      { prompt: "X", target: 3, question: "ignored" },
    ]),
  );
  const rows = await loadPromptExamples({ path: file });
  assert.deepEqual(
    rows.map((r) => [r.prompt, r.target]),
    [
      ["P", "7"],
      ["Q", "1234"],
      ["X", "3"],
    ],
  );
});

test("chat prompts: a messages list (OpenAI shape) is kept; the last user turn is the prompt text", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "chat.jsonl");
  const messages = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "2+2?" },
  ];
  writeFileSync(
    file,
    jsonl([
      { messages, answer: "4" },
      { conversation: [{ role: "user", content: "3+3?" }], answer: "6" },
    ]),
  );
  const [first] = await loadPromptExamples({ path: file, limit: 1 });
  assert.deepEqual(first, { id: "chat.jsonl:1", prompt: "2+2?", target: "4", messages });
  const rel = relative(process.cwd(), file);
  await rejectsWith(
    loadPromptExamples({ path: file }),
    `${rel} line 2: field "prompt" missing (have: conversation, answer); set dataset.prompt_field (looked for prompt, messages, question, problem)`,
  );
  await rejectsWith(
    loadPromptExamples({ path: file, promptField: "conversation" }),
    `${rel} line 1: field "conversation" missing (have: messages, answer)`,
  );
  const bad = join(dir, "bad.jsonl");
  writeFileSync(
    bad,
    jsonl([
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "yo" },
        ],
        answer: "1",
      },
      { messages: [{ role: "robot", content: "x" }], answer: "1" },
      { messages: [], answer: "1" },
    ]),
  );
  const relBad = relative(process.cwd(), bad);
  const rows = await readAll(bad);
  await rejectsWith(
    mapOne(rows[0]!),
    `${relBad} line 1: field "messages" must end with a user (or tool) message for the model to answer, not an assistant one`,
  );
  await rejectsWith(
    mapOne(rows[1]!),
    `${relBad} line 2: field "messages[0].role" must be one of system, user, assistant, tool, got "robot"`,
  );
  await rejectsWith(
    mapOne(rows[2]!),
    `${relBad} line 3: field "messages" must be a non-empty list of { role, content } messages, got an array of length 0`,
  );
});

async function readAll(file: string): Promise<DataRow[]> {
  const out: DataRow[] = [];
  for await (const r of readRows(file)) out.push(r);
  return out;
}

const mapOne = (row: DataRow) => rowToPromptExample(row, "train");

test("errors name file, line and field: missing, wrong type, empty, bad JSON, not an object", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "train.jsonl");
  const rel = relative(process.cwd(), file);
  const lines = [
    '{"q": "a", "a": "1"}',
    "",
    '{"q": "b"}',
    '{"q": 5, "a": "1"}',
    '{"q": " ", "a": "1"}',
    '{"q": "c", "a": null}',
    "[1]",
    '{"q": "d", "a": "no marker"}',
    "{oops",
  ];
  writeFileSync(file, lines.join("\n"));
  await assert.rejects(readAll(file), (e: Error) => e instanceof DatasetRowError && e.message.startsWith(`${rel} line 9: invalid JSON (`));
  writeFileSync(file, lines.slice(0, -1).join("\n"));
  const all = await readAll(file);
  assert.deepEqual(
    all.map((r) => r.row),
    [1, 3, 4, 5, 6, 7, 8],
    "blank lines are skipped but counted",
  );
  const m = { promptField: "q", answerField: "a" };
  await rejectsWith(rowToPromptExample(all[1]!, "train", m), `${rel} line 3: field "a" missing (have: q)`);
  await rejectsWith(
    rowToPromptExample(all[2]!, "train", m),
    `${rel} line 4: field "q" must be a string or a list of { role, content } messages, got 5`,
  );
  await rejectsWith(rowToPromptExample(all[3]!, "train", m), `${rel} line 5: field "q" must not be empty`);
  await rejectsWith(rowToPromptExample(all[4]!, "train", m), `${rel} line 6: field "a" must be a string or a number, got null`);
  await rejectsWith(rowToPromptExample(all[5]!, "train", m), `${rel} line 7: the record must be an object, got an array of length 1`);
  await rejectsWith(
    rowToPromptExample(all[6]!, "train", { ...m, answerFormat: "gsm8k" }),
    `${rel} line 8: field "a" must be text ending in '#### <number>' (answer_format gsm8k), got "no marker"`,
  );
});

test("Parquet streams row group by row group; rows are numbered across groups and errors name them", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "train-00000-of-00001.parquet");
  const rows = Array.from({ length: 10 }, (_, i) => ({ text: i === 7 ? "" : `item ${i}`, label: i * 10 }));
  writeParquet(
    file,
    [
      { name: "text", kind: "string" },
      { name: "label", kind: "int64" },
    ],
    rows,
    3,
  );
  const read = await readAll(file);
  assert.deepEqual(
    read.map((r) => r.row),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.deepEqual(read[4]!.value, { text: "item 4", label: 40 }, "INT64 comes back as a plain number");
  assert.equal((await loadPromptExamples({ path: dir, promptField: "text", answerField: "label", limit: 5 })).length, 5);
  await rejectsWith(
    loadPromptExamples({ path: file, promptField: "text", answerField: "label" }),
    `${relative(process.cwd(), file)} row 8: field "text" must not be empty`,
  );
  const json = join(dir, "rows.json");
  writeFileSync(json, JSON.stringify([{ text: "a", label: 1 }, { text: "b" }]));
  await rejectsWith(
    loadPromptExamples({ path: json, promptField: "text", answerField: "label" }),
    `${relative(process.cwd(), json)} row 2: field "label" missing (have: text)`,
  );
  const jsonLines = join(dir, "lines.json");
  writeFileSync(jsonLines, jsonl([{ text: "a", label: 1 }]));
  assert.equal(
    (await loadPromptExamples({ path: jsonLines, promptField: "text", answerField: "label" }))[0]!.target,
    "1",
    ".json holding JSON Lines",
  );
  writeFileSync(join(dir, "broken.parquet"), "not parquet");
  await assert.rejects(readAll(join(dir, "broken.parquet")), /broken.parquet: not a readable Parquet file/);
});

test("a transform builds records (sync or async), may skip rows, and its output is checked", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "train.jsonl");
  writeFileSync(
    file,
    jsonl([
      { a: 1, b: 2 },
      { a: 0, b: 0 },
      { a: 3, b: 4 },
    ]),
  );
  const transform = async (row: Record<string, unknown>, info: { row: number; split: string }) =>
    row.a === 0
      ? null
      : {
          messages: [{ role: "user", content: `${row.a}+${row.b}?` }],
          answer: Number(row.a) + Number(row.b),
          id: `sum-${info.split}-${info.row}`,
        };
  const out = await loadPromptExamples({ path: file, transform, transformName: "transform ./sum.ts" });
  assert.deepEqual(
    out.map((e) => [e.id, e.prompt, e.target]),
    [
      ["sum-train-1", "1+2?", "3"],
      ["sum-train-3", "3+4?", "7"],
    ],
  );
  const rel = relative(process.cwd(), file);
  await rejectsWith(
    loadPromptExamples({ path: file, transform: (r) => ({ prompt: `${r.a}` }), transformName: "transform ./t.ts" }),
    `${rel} line 1: field "answer" missing from the result of transform ./t.ts (have: prompt)`,
  );
  await rejectsWith(
    loadPromptExamples({ path: file, transform: () => "text", transformName: "transform ./t.ts" }),
    `${rel} line 1: the result of transform ./t.ts must be an object, got "text"`,
  );
  await rejectsWith(
    loadPromptExamples({
      path: file,
      transform: () => {
        throw new Error("boom");
      },
      transformName: "transform ./t.ts",
    }),
    `${rel} line 1: transform ./t.ts threw: boom`,
  );
});

test("SFT rows: messages, prompt/response, TRL prompt/completion (text or chat), renamed fields, transforms", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "train.jsonl");
  const chat = [
    { role: "user", content: "hi" },
    { role: "assistant", content: "hello" },
  ];
  writeFileSync(
    file,
    jsonl([
      { messages: chat },
      { prompt: "p", response: "r" },
      { prompt: "p2", completion: "c2" },
      { prompt: [chat[0]], completion: [chat[1]] },
    ]),
  );
  assert.deepEqual(await loadSftRecords({ path: file }), [
    { messages: chat },
    { prompt: "p", response: "r" },
    { prompt: "p2", response: "c2" },
    { messages: chat },
  ]);
  const rel = relative(process.cwd(), file);
  await rejectsWith(loadSftRecords({ path: file, format: "messages" }), `${rel} line 2: field "messages" missing (have: prompt, response)`);
  const renamed = join(dir, "renamed.jsonl");
  writeFileSync(renamed, jsonl([{ instruction: "i", output: "o" }, { instruction: "i2" }]));
  await rejectsWith(
    loadSftRecords({ path: renamed }),
    `${relative(process.cwd(), renamed)} line 1: field "prompt" missing (have: instruction, output) (and no "messages" field)`,
  );
  await rejectsWith(
    loadSftRecords({ path: renamed, promptField: "instruction", responseField: "output" }),
    `${relative(process.cwd(), renamed)} line 2: field "output" missing (have: instruction)`,
  );
  assert.deepEqual(await loadSftRecords({ path: renamed, promptField: "instruction", responseField: "output", limit: 1 }), [
    { prompt: "i", response: "o" },
  ]);
  const viaTransform = await loadSftRecords({
    path: renamed,
    transform: (r) => (r.output ? { prompt: r.instruction, completion: r.output } : null),
  });
  assert.deepEqual(viaTransform, [{ prompt: "i", response: "o" }]);
});
