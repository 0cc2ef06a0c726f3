import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatasetNotFoundError, JsonlParseError, parseJsonl, readJsonl, readJsonlFile } from "../../src/data/index.ts";

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "forge-jsonl-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  "streams records with 1-based line numbers, skipping blank lines, BOM and CRLF",
  withTempDir(async (dir) => {
    const file = join(dir, "a.jsonl");
    writeFileSync(file, '\uFEFF{"a":1}\r\n\r\n{"a":2}\n  \n[3]\n');
    const records = [];
    for await (const r of readJsonl(file)) records.push(r);
    assert.deepEqual(records, [
      { value: { a: 1 }, file, line: 1 },
      { value: { a: 2 }, file, line: 3 },
      { value: [3], file, line: 5 },
    ]);
  }),
);

test(
  "bad JSON names the file and line",
  withTempDir(async (dir) => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"ok":true}\n{"broken":\n');
    await assert.rejects(readJsonlFile(file), (e: unknown) => {
      assert.ok(e instanceof JsonlParseError);
      assert.equal(e.name, "JsonlParseError");
      assert.equal(e.line, 2);
      assert.ok(e.message.startsWith(`${file}:2: invalid JSON`), e.message);
      return true;
    });
  }),
);

test("a missing file is a DatasetNotFoundError", async () => {
  await assert.rejects(readJsonlFile("/nonexistent/x.jsonl"), DatasetNotFoundError);
});

test("parseJsonl parses in-memory text with the same errors", () => {
  assert.deepEqual(parseJsonl('1\n\n"x"', "mem").map((r) => [r.value, r.line]), [
    [1, 1],
    ["x", 3],
  ]);
  assert.throws(() => parseJsonl("{}\n{", "mem"), /mem:2: invalid JSON/);
});
