import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendTrajectorySamples, readLatestTrajectorySamples, trajectorySpans } from "../../src/observability/index.ts";
import { renderDashboard } from "../../src/observability/dashboard-html.ts";

test("trajectory spans follow the loss mask; the dashboard highlights trained spans and escapes text", () => {
  const spans = trajectorySpans([1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 0, 1], (ids) => ids.join(","));
  assert.deepEqual(spans, [
    { text: "1,2", trained: false },
    { text: "3,4", trained: true },
    { text: "5", trained: false },
    { text: "6", trained: true },
  ]);
  const page = renderDashboard([{ step: 1, "loss/value": 1 }], { samples: [{ step: 1, title: "e0", reward: 1, spans: [{ text: "user: <b>", trained: false }, { text: "42", trained: true }] }] });
  assert.match(page, /user: &lt;b&gt;<mark>42<\/mark>/);
});

test("only the latest step's samples are read back; a torn last line is skipped", () => {
  const path = join(mkdtempSync(join(tmpdir(), "tf-samples-")), "samples.jsonl");
  assert.deepEqual(readLatestTrajectorySamples(path), []);
  appendTrajectorySamples(path, [{ step: 1, title: "a", reward: 0, spans: [] }]);
  appendTrajectorySamples(path, [{ step: 2, title: "b", reward: 1, spans: [] }, { step: 2, title: "c", reward: 0, spans: [] }]);
  appendFileSync(path, '{"step": 3, "tit');
  assert.deepEqual(readLatestTrajectorySamples(path).map((s) => s.title), ["b", "c"]);
  assert.deepEqual(readLatestTrajectorySamples(path, 1).map((s) => s.title), ["b"]);
});
