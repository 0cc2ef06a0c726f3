/** The uPlot dashboard: page structure, chart plan (one quantity per axis, no duplicates), samples table, live data from step 1, and the page script run against a stub DOM. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vm from "node:vm";
import {
  DashboardBackend, JsonlBackend, dashboardData, planCharts, renderDashboard, seriesOf, writeDashboard, type DashboardData, type MetricRecord,
} from "../../src/observability/index.ts";
import { appendTrajectorySamples } from "../../src/observability/trajectory-samples.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "tf-dash-"));

function grpoRecords(n: number): MetricRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    step: i + 1,
    "reward/mean": i / n,
    "reward/MathReward": i / n, // the only reward function: same values as reward/mean
    "reward/ThinkingReward": 0.5,
    "eval/accuracy": 0.1 * i,
    "loss/value": 1 / (i + 1),
    "loss/kl_ref": 0.01 * i,
    "loss/ratio_mean": 1,
    "loss/ratio_min": 0.9,
    "loss/ratio_max": 1.1 + i,
    "loss/clip_fraction": 0.05,
    "loss/ratio_clamped_fraction": 0,
    "loss/entropy": 2,
    "trainer/grad_norm": 3 - 0.1 * i,
    "trainer/lr": 1e-5,
    "trainer/tokens_per_s": 1000,
    "main_perf/generate_s": 1.5,
    "main_perf/train_step_s": 0.5,
    "buffer/size": i,
    "weird<key>": 1,
  }));
}

const embedded = (html: string): DashboardData => JSON.parse(/<script id="dashboard-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
const chartOf = (d: DashboardData, key: string) => d.charts.filter((c) => c.keys.includes(key));

test("charts: one quantity per axis — loss alone; ratio, grad norm and lr on their own; each key drawn once; twins dropped", () => {
  const plan = planCharts(seriesOf(grpoRecords(5)));
  const byTitle = Object.fromEntries(plan.map((c) => [c.title, c]));
  assert.deepEqual(byTitle["Loss"]!.keys, ["loss/value"]);
  assert.deepEqual(byTitle["Importance ratio π/π_old"]!.keys.sort(), ["loss/ratio_max", "loss/ratio_mean", "loss/ratio_min"]);
  assert.deepEqual(byTitle["Gradient norm"]!.keys, ["trainer/grad_norm"]);
  assert.deepEqual(byTitle["Learning rate"]!.keys, ["trainer/lr"]);
  assert.deepEqual(byTitle["KL divergence"]!.keys, ["loss/kl_ref"]);
  assert.deepEqual(byTitle["Clipped tokens"]!.keys.sort(), ["loss/clip_fraction", "loss/ratio_clamped_fraction"]);
  assert.deepEqual(byTitle["Reward"]!.keys, ["reward/mean", "reward/ThinkingReward"]);
  assert.deepEqual(byTitle["Reward"]!.duplicates, { "reward/MathReward": "reward/mean" });
  assert.deepEqual(byTitle["buffer/size"]!.keys, ["buffer/size"], "an unknown key gets its own chart");
  const drawn = plan.flatMap((c) => c.keys);
  assert.equal(new Set(drawn).size, drawn.length, "no series drawn twice");
  for (const c of plan) assert.ok(c.yLabel.length > 0, `${c.title} has a y label`);
});

test("page: one offline file with uPlot inlined, a labelled section per chart, samples table, no network", () => {
  const samples = [
    { step: 5, title: "prompt 0 <x>", reward: 1, spans: [{ text: "Q: 2+2? ", trained: false }, { text: "4", trained: true }] },
    { step: 5, title: "prompt 1", reward: 0, spans: [{ text: "5", trained: true }] },
  ];
  const html = renderDashboard(grpoRecords(5), { title: "run <1>", generatedAt: new Date(0), samples });
  assert.ok(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">") && html.trimEnd().endsWith("</html>"));
  for (const tag of ["html", "head", "body", "title", "style", "section", "script", "table", "h2"]) {
    const open = html.match(new RegExp(`<${tag}[\\s>]`, "g"))?.length ?? 0;
    const close = html.match(new RegExp(`</${tag}>`, "g"))?.length ?? 0;
    assert.equal(open, close, `<${tag}> opened ${open} times, closed ${close}`);
  }
  assert.match(html, /var uPlot=function\(\)/, "uPlot's JS inlined");
  assert.match(html, /\.uplot\s*\{/, "uPlot's CSS inlined");
  assert.ok(!/<script[^>]*\bsrc=/.test(html) && !/<link\b/.test(html) && !/\bfetch\(/.test(html), "no external files, no fetch");
  assert.ok(!/data-live=/.test(html), "a static page does not poll");
  const data = embedded(html);
  const sections = [...html.matchAll(/<section class="chart" data-keys="([^"]*)"><h2>([^<]*)<\/h2><div class="axis-label">([^<]*)<\/div>/g)];
  assert.deepEqual(sections.map((m) => m[2]), data.charts.map((c) => c.title.replace(/</g, "&lt;").replace(/>/g, "&gt;")), "one section per chart");
  assert.ok(sections.find((m) => m[2] === "Loss")![1] === "loss/value");
  assert.deepEqual(data.series["reward/mean"], [[1, 2, 3, 4, 5], [0, 0.2, 0.4, 0.6, 0.8]]);
  assert.equal(data.series["reward/MathReward"], undefined, "the twin is not shipped");
  assert.ok(html.includes("run &lt;1&gt;") && html.includes("weird&lt;key&gt;") && !html.includes("<h2>weird<key>"), "escaped");
  assert.match(html, /<table class="samples"><thead><tr><th>#<\/th><th>sample<\/th><th>reward<\/th><th>trajectory<\/th><\/tr><\/thead><tbody><tr><td>1<\/td><td>prompt 0 &lt;x&gt;<\/td><td class="num">1<\/td><td><pre>Q: 2\+2\? <mark>4<\/mark><\/pre><\/td><\/tr><tr><td>2<\/td>/);
  assert.match(renderDashboard([]), /no metrics yet/);
});

test("backend: the page and its data exist after the first step, refresh live, and end self-contained", () => {
  const dir = tmp();
  const jsonlPath = join(dir, "metrics.jsonl");
  const path = join(dir, "dashboard.html");
  const jsonl = new JsonlBackend({ path: jsonlPath });
  jsonl.log(0, { "reward/mean": 0 }); // a resumed run's earlier step, already in the JSONL
  let now = 0;
  const dash = new DashboardBackend({ path, jsonlPath, every: 3, samplesPath: join(dir, "samples.jsonl"), refreshSeconds: 2, now: () => now, maxIntervalMs: 60_000 });
  const liveData = (): DashboardData => JSON.parse(/^forgeDashboardData\((.*)\);\n$/s.exec(readFileSync(dash.dataPath, "utf8"))![1]!);
  appendTrajectorySamples(join(dir, "samples.jsonl"), [{ step: 1, title: "e0", reward: 1, spans: [{ text: "42", trained: true }] }]);
  dash.log(1, { "reward/mean": 0.1, "loss/value": 2 });
  assert.ok(existsSync(path) && existsSync(dash.dataPath), "page and data written at the first step");
  assert.equal(dash.dataPath, join(dir, "dashboard-data.js"));
  const page = readFileSync(path, "utf8");
  assert.match(page, /<body data-live="dashboard-data\.js" data-refresh="2">/);
  assert.deepEqual(liveData().series["reward/mean"], [[0, 1], [0, 0.1]]);
  assert.equal(liveData().done, false);
  assert.match(liveData().samplesHtml, /<mark>42<\/mark>/);
  dash.log(2, { "reward/mean": 0.2 });
  assert.deepEqual(liveData().series["reward/mean"]![0], [0, 1], "every 3 flushes after the first");
  dash.log(3, { "reward/mean": 0.3 });
  assert.deepEqual(liveData().series["reward/mean"]![0], [0, 1, 2, 3]);
  now = 60_000; // a slow step: written although flush 4 is not a multiple of 3
  dash.log(4, { "reward/mean": 0.4 });
  assert.deepEqual(liveData().series["reward/mean"]![0], [0, 1, 2, 3, 4]);
  assert.equal(readFileSync(path, "utf8"), page, "the page itself is not rewritten while live");
  dash.close();
  jsonl.close();
  assert.equal(liveData().done, true, "the open page stops polling");
  const final = readFileSync(path, "utf8");
  assert.ok(!/data-live=/.test(final), "the finished page stands alone");
  assert.deepEqual(embedded(final).series["reward/mean"]![0], [0, 1, 2, 3, 4]);
  assert.deepEqual(readdirSync(dir).sort(), ["dashboard-data.js", "dashboard.html", "metrics.jsonl", "samples.jsonl"], "no temp files left");
  writeDashboard(jsonlPath, join(dir, "again.html"));
  assert.deepEqual(embedded(readFileSync(join(dir, "again.html"), "utf8")).series["reward/mean"]![0], [0]);
  rmSync(dir, { recursive: true, force: true });
});

// Values built inside the vm context have that context's prototypes: compare them as plain JSON.
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

/** A DOM just big enough for the page script, and a uPlot stub that records what it is given. */
function runPage(html: string) {
  const byId = new Map<string, El>();
  class El {
    children: El[] = [];
    dataset: Record<string, string> = {};
    textContent = "";
    innerHTML = "";
    className = "";
    id = "";
    src = "";
    clientWidth = 1200;
    parent?: El;
    constructor(readonly tag: string) {}
    appendChild(c: El) {
      c.parent = this;
      this.children.push(c);
      if (c.id) byId.set(c.id, c);
      return c;
    }
    remove() {
      if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
      byId.delete(this.id);
    }
    addEventListener() {}
  }
  for (const id of ["charts", "samples", "title", "meta"]) byId.set(id, new El("div"));
  const dataEl = new El("script");
  dataEl.textContent = /<script id="dashboard-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!;
  byId.set("dashboard-data", dataEl);
  const body = new El("body");
  const live = /<body data-live="([^"]*)" data-refresh="(\d+)">/.exec(html);
  if (live) body.dataset = { live: live[1]!, refresh: live[2]! };
  const head = new El("head");
  const plots: { opts: any; data: any; resets: boolean[]; destroyed: boolean }[] = [];
  function uPlot(this: any, opts: any, data: any) {
    const rec = { opts, data, resets: [] as boolean[], destroyed: false };
    plots.push(rec);
    this.over = new El("div");
    this.select = { width: 0 };
    this.setData = (d: any, reset: boolean) => {
      rec.data = d;
      rec.resets.push(reset);
    };
    this.destroy = () => (rec.destroyed = true);
    this.setSize = () => {};
  }
  (uPlot as any).sync = (key: string) => ({ key });
  const intervals: (() => void)[] = [];
  const ctx = {
    uPlot,
    document: { getElementById: (id: string) => byId.get(id), createElement: (t: string) => new El(t), body, head, title: "" },
    window: { addEventListener() {} } as Record<string, unknown>,
    setInterval: (f: () => void) => intervals.push(f),
    clearInterval: () => intervals.splice(0),
    Date,
    JSON,
    Map,
    Set,
    Number,
    Math,
    String,
    Object,
    isFinite,
  };
  (ctx.window as Record<string, unknown>).addEventListener = () => {};
  const script = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!).at(-1)!;
  vm.runInNewContext(script, ctx);
  return { ctx: ctx as typeof ctx & { window: { forgeDashboardData?: (d: DashboardData) => void } }, byId, plots, intervals, head };
}

test("page script: one synced uPlot per chart with axis labels, live reload through a <script> tag, stops when done", () => {
  const records = grpoRecords(3);
  const html = renderDashboard(records, { dataScript: "dashboard-data.js", done: false, refreshSeconds: 3, samples: [] });
  const page = runPage(html);
  const data = embedded(html);
  assert.equal(page.plots.length, data.charts.length, "one plot per chart");
  const loss = page.plots.find((p) => p.opts.series[1].label === "loss/value")!;
  assert.equal(loss.opts.series.length, 2, "loss alone on its axis");
  assert.equal(loss.opts.axes[0].label, "step");
  assert.equal(loss.opts.axes[1].label, "loss");
  assert.equal(loss.opts.cursor.sync.key, "forge", "cursors synced across charts");
  assert.deepEqual(plain(loss.data), [[1, 2, 3], [1, 1 / 2, 1 / 3]]);
  assert.equal(page.byId.get("charts")!.children.length, data.charts.length);
  // Live: the timer adds a fresh <script src="dashboard-data.js?t=..."> each tick.
  assert.equal(page.intervals.length, 1);
  page.intervals[0]!();
  page.intervals[0]!();
  assert.equal(page.head.children.length, 1, "the previous data script is removed");
  assert.match(page.head.children[0]!.src, /^dashboard-data\.js\?t=\d+$/);
  // The data script calls forgeDashboardData: same charts → setData, not rebuilt.
  const next = dashboardData(grpoRecords(4), { dataScript: "dashboard-data.js", done: true });
  page.ctx.window.forgeDashboardData!(next);
  assert.deepEqual(plain(loss.data[0]), [1, 2, 3, 4]);
  assert.deepEqual(plain(loss.resets), [true]);
  assert.equal(page.plots.length, data.charts.length, "no plot rebuilt");
  assert.equal(page.intervals.length, 0, "polling stopped: the run is done");
  assert.match(page.byId.get("meta")!.textContent, /last step 4.*run ended/);
});
