/**
 * A self-contained HTML dashboard from metric records: one file, inline SVG charts drawn here,
 * a few lines of inline JS for hover read-outs, no network access (it works from file://).
 * Charts follow torchforge's metric names: reward, accuracy, loss, KL, entropy, clip fraction,
 * response length, tokens/s, time per phase, then every other numeric series.
 */
import type { MetricRecord } from "./jsonl-backend.ts";
import type { TrajectorySample } from "./trajectory-samples.ts";

export interface DashboardSection {
  title: string;
  match: RegExp;
}

/** Each numeric key goes to the first section whose pattern matches it. */
export const DASHBOARD_SECTIONS: readonly DashboardSection[] = [
  { title: "Reward", match: /^reward\// },
  { title: "Accuracy", match: /accuracy|pass@|pass_at/ },
  { title: "KL", match: /(^|[/_])kl([/_]|$)/ },
  { title: "Entropy", match: /entropy/ },
  { title: "Clip fraction", match: /clip/ },
  { title: "Loss", match: /^loss\// },
  { title: "Response length", match: /response_len|response_length|length/ },
  { title: "Tokens/s", match: /tokens_per_s|tokens\/s|throughput/ },
  { title: "Time per phase (s)", match: /^main_perf\// },
];

export interface RenderDashboardOptions {
  /** @default "torchforge run" */
  title?: string;
  /** Reload the page every N seconds (useful while a run is going). @default none */
  refreshSeconds?: number;
  /** Time the page was generated (shown in the header). @default new Date() */
  generatedAt?: Date;
  /** Trajectories to show below the charts (e.g. `readLatestTrajectorySamples`). @default none */
  samples?: readonly TrajectorySample[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const W = 460;
const H = 220;
const M = { l: 56, r: 12, t: 10, b: 28 };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** Numeric series by key: `[step, value]` pairs in record order. */
export function seriesOf(records: readonly MetricRecord[]): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (k === "step" || k === "time" || typeof v !== "number" || !Number.isFinite(v)) continue;
      let s = out.get(k);
      if (!s) out.set(k, (s = []));
      s.push([r.step, v]);
    }
  }
  return out;
}

function chart(id: number, keys: string[], series: Map<string, [number, number][]>): string {
  const pts = keys.flatMap((k) => series.get(k)!);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const sy = (y: number) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b);
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    const y = sy(v).toFixed(1);
    grid.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="grid"/><text x="${M.l - 4}" y="${y}" class="yl">${fmt(v)}</text>`);
  }
  for (const x of [x0, (x0 + x1) / 2, x1]) {
    grid.push(`<text x="${sx(x).toFixed(1)}" y="${H - 8}" class="xl">${fmt(Math.round(x))}</text>`);
  }
  const lines = keys.map((k, i) => {
    const d = series.get(k)!.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    const color = COLORS[i % COLORS.length];
    const dot = series.get(k)!.length === 1 ? `<circle cx="${d.split(",")[0]}" cy="${d.split(",")[1]}" r="3" fill="${color}"/>` : "";
    return `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${d}"/>${dot}`;
  });
  const legend = keys.map((k, i) => {
    const s = series.get(k)!;
    return `<li><span class="sw" style="background:${COLORS[i % COLORS.length]}"></span>${escapeHtml(k)} <b>${fmt(s[s.length - 1]![1])}</b></li>`;
  });
  const meta = escapeHtml(JSON.stringify({ keys, x0, x1, l: M.l, r: W - M.r }));
  return (
    `<svg id="c${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" data-meta="${meta}">` +
    `${grid.join("")}<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" class="axis"/>` +
    `${lines.join("")}<line class="cursor" x1="0" x2="0" y1="${M.t}" y2="${H - M.b}" visibility="hidden"/></svg>` +
    `<ul class="legend">${legend.join("")}</ul>`
  );
}

const SCRIPT = `
const data = JSON.parse(document.getElementById("metrics-data").textContent);
const tip = document.getElementById("tip");
function near(key, step) {
  const s = data[key]; let best = s[0];
  for (const p of s) if (Math.abs(p[0] - step) < Math.abs(best[0] - step)) best = p;
  return best;
}
for (const svg of document.querySelectorAll("svg[data-meta]")) {
  const m = JSON.parse(svg.dataset.meta);
  const cursor = svg.querySelector(".cursor");
  svg.addEventListener("mousemove", (ev) => {
    const box = svg.getBoundingClientRect();
    const x = (ev.clientX - box.left) * (${W} / box.width);
    const step = m.x0 + ((x - m.l) / (m.r - m.l)) * (m.x1 - m.x0);
    const rows = m.keys.map((k) => { const p = near(k, step); return k + " = " + p[1].toPrecision(4) + " (step " + p[0] + ")"; });
    cursor.setAttribute("x1", x); cursor.setAttribute("x2", x); cursor.setAttribute("visibility", "visible");
    tip.textContent = rows.join("\\n"); tip.style.display = "block";
    tip.style.left = ev.pageX + 12 + "px"; tip.style.top = ev.pageY + 12 + "px";
  });
  svg.addEventListener("mouseleave", () => { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
}
`;

const STYLE = `
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:0 0 6px}
.meta{color:#666;margin-bottom:12px}
.grid-wrap{display:flex;flex-wrap:wrap;gap:14px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
svg text{font-size:10px;fill:#555} .yl{text-anchor:end;dominant-baseline:middle} .xl{text-anchor:middle}
.grid{stroke:#eee} .axis{stroke:#999} .cursor{stroke:#aaa;stroke-dasharray:3 3}
.legend{list-style:none;padding:0;margin:4px 0 0;max-width:${W}px;font-size:12px}
.legend li{display:inline-block;margin-right:10px} .sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.empty{color:#999;width:${W}px;height:40px}
.samples{margin-top:14px} .samples pre{white-space:pre-wrap;word-break:break-word;background:#fafafa;border:1px solid #eee;padding:6px;font-size:12px}
.samples mark{background:#cfe8ff} .samples h3{font-size:13px;margin:8px 0 2px}
#tip{position:absolute;display:none;background:#222;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;white-space:pre;pointer-events:none}
`;

/** The dashboard page for `records` (e.g. `readMetricsJsonl(path)`). */
export function renderDashboard(records: readonly MetricRecord[], options: RenderDashboardOptions = {}): string {
  const samples = options.samples?.length ? `<section class="samples"><h2>Sampled trajectories (step ${options.samples[0]!.step}; <mark>trained tokens</mark> highlighted)</h2>${options.samples.map(renderSample).join("\n")}</section>` : "";
  const title = options.title ?? "torchforge run";
  const series = seriesOf(records);
  const keys = [...series.keys()].sort();
  const assigned = new Set<string>();
  const groups: { title: string; keys: string[] }[] = DASHBOARD_SECTIONS.map((s) => {
    const ks = keys.filter((k) => !assigned.has(k) && s.match.test(k));
    ks.forEach((k) => assigned.add(k));
    return { title: s.title, keys: ks };
  });
  // Everything else, grouped by its first path segment.
  const rest = new Map<string, string[]>();
  for (const k of keys.filter((k) => !assigned.has(k))) {
    const head = k.includes("/") ? k.slice(0, k.indexOf("/")) : "other";
    rest.set(head, [...(rest.get(head) ?? []), k]);
  }
  for (const [head, ks] of rest) groups.push({ title: head, keys: ks });
  let id = 0;
  const sections = groups.map((g) => {
    const body = g.keys.length ? chart(id++, g.keys, series) : `<div class="empty">no metrics yet</div>`;
    return `<section><h2>${escapeHtml(g.title)}</h2>${body}</section>`;
  });
  const steps = records.map((r) => r.step);
  const last = steps.length ? Math.max(...steps) : 0;
  const json = JSON.stringify(Object.fromEntries(series)).replace(/</g, "\\u003c");
  const refresh = options.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">` : "";
  const when = (options.generatedAt ?? new Date()).toISOString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${refresh}<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="meta">${records.length} flushes, last step ${last}, ${keys.length} series; generated ${when}</div>
<div class="grid-wrap">
${sections.join("\n")}
</div>
${samples}
<div id="tip"></div>
<script id="metrics-data" type="application/json">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function renderSample(s: TrajectorySample): string {
  const body = s.spans.map((sp) => (sp.trained ? `<mark>${escapeHtml(sp.text)}</mark>` : escapeHtml(sp.text))).join("");
  return `<h3>${escapeHtml(s.title)} — reward ${fmt(s.reward)}</h3><pre>${body}</pre>`;
}
