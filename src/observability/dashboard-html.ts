/**
 * The run dashboard: one offline HTML file drawn with uPlot (zoom by dragging, double-click to
 * reset, values on hover, cursors synced across charts), its JS and CSS inlined from the installed
 * `uplot` package. One chart per quantity (loss alone; ratio, grad norm, learning rate, KL... each
 * on its own labelled axis), full width, duplicate series dropped, and a table of the latest
 * sampled trajectories.
 *
 * Live: the page embeds the data it was written with, and while the run goes it re-loads a sibling
 * `<name>-data.js` (`forgeDashboardData({...})`) every few seconds through a fresh <script> tag —
 * unlike fetch/XHR, a script tag loads from file:// in every browser. The data file says `done`
 * when the run has ended, and the page stops polling.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { MetricRecord } from "./jsonl-backend.ts";
import type { TrajectorySample } from "./trajectory-samples.ts";

/** One chart = one quantity on one y axis. Each key goes to the first chart whose pattern matches it. */
export interface DashboardChartSpec {
  title: string;
  /** Y-axis label (the quantity and its unit). */
  yLabel: string;
  match: RegExp;
}

export const DASHBOARD_CHARTS: readonly DashboardChartSpec[] = [
  { title: "Reward", yLabel: "reward", match: /^reward\/(?!failures$)/ },
  { title: "Accuracy", yLabel: "fraction correct", match: /accuracy|pass@|pass_at/ },
  { title: "Loss", yLabel: "loss", match: /^(loss\/value|eval\/loss|loss)$/ },
  { title: "KL divergence", yLabel: "KL (nats / token)", match: /(^|[/_])kl([/_]|$)/ },
  { title: "Importance ratio π/π_old", yLabel: "ratio", match: /(^|\/)ratio_(mean|min|max)$/ },
  { title: "Clipped tokens", yLabel: "fraction of tokens", match: /clip_fraction|ratio_clamped_fraction|is_masked_fraction/ },
  { title: "Gradient norm", yLabel: "‖g‖ (before clipping)", match: /^trainer\/grad_norm$/ },
  { title: "Learning rate", yLabel: "learning rate", match: /^trainer\/lr$/ },
  { title: "Entropy", yLabel: "entropy (nats / token)", match: /entropy/ },
  { title: "Advantage", yLabel: "advantage", match: /advantage_(mean|std)$/ },
  { title: "Response length", yLabel: "tokens", match: /response_len|response_length/ },
  { title: "Throughput", yLabel: "tokens / s", match: /tokens_per_s|tokens\/s|throughput/ },
  { title: "Time per phase", yLabel: "seconds", match: /^main_perf\// },
];

/** Compatibility aliases (the earlier names of the grouping). */
export const DASHBOARD_SECTIONS = DASHBOARD_CHARTS;
export type DashboardSection = DashboardChartSpec;

export interface ChartPlan {
  title: string;
  yLabel: string;
  /** Series drawn, in order. */
  keys: string[];
  /** Series left out because they repeat a drawn one value for value: `{ key: same-as-key }`. */
  duplicates: Record<string, string>;
}

export interface RenderDashboardOptions {
  /** @default "torchforge run" */
  title?: string;
  /** While live, re-load the data file every N seconds. @default 5 */
  refreshSeconds?: number;
  /** Time the data was generated (shown in the header). @default new Date() */
  generatedAt?: Date;
  /** Trajectories for the samples table (e.g. `readLatestTrajectorySamples`). @default none */
  samples?: readonly TrajectorySample[];
  /**
   * Relative URL of the data script the page re-loads while the run goes (`dashboard-data.js`);
   * unset: a static page with only its embedded data.
   */
  dataScript?: string;
  /** The run has ended: the page stops polling. @default !dataScript */
  done?: boolean;
}

/** What the page draws; also the payload of the live data file. */
export interface DashboardData {
  title: string;
  generatedAt: string;
  done: boolean;
  lastStep: number;
  flushes: number;
  charts: ChartPlan[];
  /** key → [steps, values] of every drawn series. */
  series: Record<string, [number[], number[]]>;
  /** The samples table, already escaped. */
  samplesHtml: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** Numeric series by key: `[step, value]` pairs in step order (a later record of a step replaces an earlier one). */
export function seriesOf(records: readonly MetricRecord[]): Map<string, [number, number][]> {
  const byKey = new Map<string, Map<number, number>>();
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (k === "step" || k === "time" || typeof v !== "number" || !Number.isFinite(v)) continue;
      let s = byKey.get(k);
      if (!s) byKey.set(k, (s = new Map()));
      s.set(r.step, v);
    }
  }
  const out = new Map<string, [number, number][]>();
  for (const [k, s] of byKey) out.set(k, [...s.entries()].sort((a, b) => a[0] - b[0]));
  return out;
}

const sameSeries = (a: [number, number][], b: [number, number][]) => a.length === b.length && a.every((p, i) => p[0] === b[i]![0] && p[1] === b[i]![1]);

/** Charts for these series: one per quantity (`DASHBOARD_CHARTS`), any other key on its own chart. */
export function planCharts(series: Map<string, [number, number][]>): ChartPlan[] {
  const keys = [...series.keys()].sort();
  const assigned = new Set<string>();
  const plans: ChartPlan[] = [];
  const add = (title: string, yLabel: string, ks: string[]) => {
    const keep: string[] = [];
    const duplicates: Record<string, string> = {};
    for (const k of ks) {
      // e.g. reward/MathReward next to reward/mean with a single reward function: one line, not two on top of each other.
      const twin = keep.find((d) => sameSeries(series.get(d)!, series.get(k)!));
      if (twin !== undefined) duplicates[k] = twin;
      else keep.push(k);
    }
    if (keep.length > 0) plans.push({ title, yLabel, keys: keep, duplicates });
  };
  for (const spec of DASHBOARD_CHARTS) {
    // The aggregate first (reward/mean before reward/<name>), so it is the one kept among twins.
    const ks = keys.filter((k) => !assigned.has(k) && spec.match.test(k)).sort((a, b) => Number(!/mean|value/.test(a)) - Number(!/mean|value/.test(b)));
    ks.forEach((k) => assigned.add(k));
    add(spec.title, spec.yLabel, ks);
  }
  for (const k of keys.filter((k) => !assigned.has(k))) add(k, k.slice(k.lastIndexOf("/") + 1).replace(/_/g, " "), [k]);
  return plans;
}

/** The samples table: one row per trajectory, trained tokens highlighted. */
export function renderSamplesTable(samples: readonly TrajectorySample[]): string {
  if (samples.length === 0) return `<p class="empty">no samples yet</p>`;
  const rows = samples.map((s, i) => {
    const body = s.spans.map((sp) => (sp.trained ? `<mark>${escapeHtml(sp.text)}</mark>` : escapeHtml(sp.text))).join("");
    return `<tr><td>${i + 1}</td><td>${escapeHtml(s.title)}</td><td class="num">${fmt(s.reward)}</td><td><pre>${body}</pre></td></tr>`;
  });
  return (
    `<p class="caption">Sampled trajectories (step ${samples[0]!.step}; <mark>trained tokens</mark> highlighted)</p>` +
    `<table class="samples"><thead><tr><th>#</th><th>sample</th><th>reward</th><th>trajectory</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

/** The payload the page draws (embedded in the HTML, and written to the live data file). */
export function dashboardData(records: readonly MetricRecord[], options: RenderDashboardOptions = {}): DashboardData {
  const series = seriesOf(records);
  const charts = planCharts(series);
  const drawn: Record<string, [number[], number[]]> = {};
  for (const c of charts) for (const k of c.keys) drawn[k] = [series.get(k)!.map((p) => p[0]), series.get(k)!.map((p) => p[1])];
  return {
    title: options.title ?? "torchforge run",
    generatedAt: (options.generatedAt ?? new Date()).toISOString(),
    done: options.done ?? options.dataScript === undefined,
    lastStep: records.length ? Math.max(...records.map((r) => r.step)) : 0,
    flushes: records.length,
    charts,
    series: drawn,
    samplesHtml: renderSamplesTable(options.samples ?? []),
  };
}

// JSON inside <script>: `<` escaped so no `</script>` or `<!--` can end it early.
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

/** The live data file's text: one call the page defines. */
export function renderDashboardDataScript(data: DashboardData): string {
  return `forgeDashboardData(${scriptJson(data)});\n`;
}

let uplot: { js: string; css: string } | undefined;
/** uPlot's minified IIFE build and stylesheet, from the installed package (a runtime dependency). */
export function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
    const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
    uplot = { js: js.replace(/<\/script/gi, "<\\/script"), css: css.replace(/<\/style/gi, "<\\/style") };
  }
  return uplot;
}

const PAGE_SCRIPT = String.raw`
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const sync = uPlot.sync("forge");
const plots = new Map();
let planKey = "";
function fmt(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(+v.toPrecision(4));
}
function aligned(chart, series) {
  const steps = [...new Set(chart.keys.flatMap((k) => series[k][0]))].sort((a, b) => a - b);
  const cols = chart.keys.map((k) => {
    const m = new Map(series[k][0].map((s, i) => [s, series[k][1][i]]));
    return steps.map((s) => (m.has(s) ? m.get(s) : null));
  });
  return [steps, ...cols];
}
function width(el) { return Math.max(300, el.clientWidth - 4); }
function build(data) {
  const root = document.getElementById("charts");
  for (const p of plots.values()) p.u.destroy();
  plots.clear();
  root.textContent = "";
  for (const chart of data.charts) {
    const sec = document.createElement("section");
    sec.className = "chart";
    sec.dataset.keys = chart.keys.join(",");
    const h = document.createElement("h2");
    h.textContent = chart.title;
    sec.appendChild(h);
    const dup = Object.entries(chart.duplicates);
    if (dup.length) {
      const note = document.createElement("div");
      note.className = "note";
      note.textContent = "same values as a drawn series, not repeated: " + dup.map(([k, d]) => k + " = " + d).join(", ");
      sec.appendChild(note);
    }
    const plot = document.createElement("div");
    sec.appendChild(plot);
    root.appendChild(sec);
    const p = { zoomed: false, chart };
    const opts = {
      width: width(root), height: 240,
      cursor: { sync: { key: sync.key, setSeries: true }, drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: chart.yLabel, size: 70, values: (u, vals) => vals.map(fmt) }],
      series: [{ label: "step" }, ...chart.keys.map((k, i) => ({ label: k, stroke: COLORS[i % COLORS.length], width: 1.6, spanGaps: true, points: { show: (u) => u.data[0].length < 40 }, value: (u, v) => fmt(v) }))],
      hooks: { setSelect: [(u) => { if (u.select.width > 0) p.zoomed = true; }] },
    };
    p.u = new uPlot(opts, aligned(chart, data.series), plot);
    p.u.over.addEventListener("dblclick", () => { p.zoomed = false; });
    plots.set(chart.title, p);
  }
}
function render(data) {
  document.title = data.title;
  document.getElementById("title").textContent = data.title;
  const n = Object.keys(data.series).length;
  document.getElementById("meta").textContent = data.flushes + " flushes, last step " + data.lastStep + ", " + n + " series; " + (data.done ? "run ended" : "live") + ", data of " + data.generatedAt;
  const key = JSON.stringify(data.charts.map((c) => [c.title, c.keys]));
  if (key !== planKey) { planKey = key; build(data); }
  else for (const chart of data.charts) {
    const p = plots.get(chart.title);
    p.u.setData(aligned(chart, data.series), !p.zoomed);
  }
  document.getElementById("samples").innerHTML = data.samplesHtml;
}
let timer;
window.forgeDashboardData = (data) => {
  render(data);
  if (data.done) clearInterval(timer);
};
render(JSON.parse(document.getElementById("dashboard-data").textContent));
const live = document.body.dataset.live;
if (live) {
  timer = setInterval(() => {
    const old = document.getElementById("live-data");
    if (old) old.remove();
    const s = document.createElement("script");
    s.id = "live-data";
    s.src = live + "?t=" + Date.now();
    document.head.appendChild(s);
  }, Number(document.body.dataset.refresh) * 1000);
}
window.addEventListener("resize", () => { const w = width(document.getElementById("charts")); for (const p of plots.values()) p.u.setSize({ width: w, height: 240 }); });
`;

const STYLE = `
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:0 0 4px}
.meta{color:#666;margin-bottom:12px}
#charts{display:flex;flex-direction:column;gap:12px;width:100%}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;box-sizing:border-box;width:100%}
.note{color:#888;font-size:12px}
.empty{color:#999}
table.samples{border-collapse:collapse;width:100%;font-size:12px} table.samples td,table.samples th{border:1px solid #e4e4e4;padding:4px 6px;vertical-align:top;text-align:left}
table.samples td.num{text-align:right;white-space:nowrap} table.samples pre{margin:0;white-space:pre-wrap;word-break:break-word}
mark{background:#cfe8ff} .caption{margin:0 0 6px;color:#666}
`;

/** The dashboard page for `records` (e.g. `readMetricsJsonl(path)`): one offline HTML file. */
export function renderDashboard(records: readonly MetricRecord[], options: RenderDashboardOptions = {}): string {
  const data = dashboardData(records, options);
  const { js, css } = uplotAssets();
  const refresh = Math.max(1, Math.round(options.refreshSeconds ?? 5));
  const live = options.dataScript !== undefined && !data.done ? ` data-live="${escapeHtml(options.dataScript)}" data-refresh="${refresh}"` : "";
  // The chart sections are also written here, so the page's structure is readable without running it.
  const sections = data.charts.map(
    (c) => `<section class="chart" data-keys="${escapeHtml(c.keys.join(","))}"><h2>${escapeHtml(c.title)}</h2><div class="axis-label">${escapeHtml(c.yLabel)}</div></section>`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(data.title)}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body${live}>
<h1 id="title">${escapeHtml(data.title)}</h1>
<div class="meta" id="meta">${data.flushes} flushes, last step ${data.lastStep}</div>
<div id="charts">
${sections.length ? sections.join("\n") : `<p class="empty">no metrics yet</p>`}
</div>
<h2>Latest samples</h2>
<div id="samples">${data.samplesHtml}</div>
<script id="dashboard-data" type="application/json">${scriptJson(data)}</script>
<script>${js}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
