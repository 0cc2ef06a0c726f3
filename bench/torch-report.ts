/**
 * Summarises bench/run-torch-benchmarks.sh output (JSON lines): median per case and side,
 * the spread (min–max) and the TS/Python ratio of the medians.
 *   node --import tsx bench/torch-report.ts results.jsonl
 */
import { readFileSync } from "node:fs";
import { median } from "./torch-common.ts";

interface Row { bench: string; case: string; side: string; value: number; unit: string; allocator?: string; [k: string]: unknown }

const rows: Row[] = readFileSync(process.argv[2]!, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Row);
const key = (r: Row) => `${r.bench}|${r.case}${r.allocator && r.side === "ts" ? ` [${r.allocator}]` : ""}`;
const groups = new Map<string, Map<string, Row[]>>();
for (const r of rows) {
  const g = groups.get(key(r)) ?? new Map<string, Row[]>();
  g.set(r.side, [...(g.get(r.side) ?? []), r]);
  groups.set(key(r), g);
}
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const stat = (rs: Row[] | undefined) => {
  if (!rs) return "–";
  const v = rs.map((r) => r.value);
  return `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))}, n=${v.length})`;
};
const pyKey = (k: string) => k.replace(/ \[.*\]$/, "");
console.log("| benchmark | case | unit | TS median (min–max, n) | Python median (min–max, n) | TS/Python | Python, env as set |");
console.log("|---|---|---|---|---|---|---|");
for (const [k, g] of groups) {
  const [bench, name] = k.split("|");
  const tsRows = g.get("ts");
  if (!tsRows) continue;
  const pyRows = groups.get(pyKey(k))?.get("py") ?? (bench === "small-op" ? [...groups].find(([kk]) => kk.startsWith("small-op|add 4-elem, a + b"))?.[1].get("py") : undefined);
  const ratio = pyRows ? fmt(median(tsRows.map((r) => r.value)) / median(pyRows.map((r) => r.value))) : "–";
  console.log(`| ${bench} | ${name} | ${tsRows[0]!.unit} | ${stat(tsRows)} | ${stat(pyRows)} | ${ratio} | ${stat(groups.get(pyKey(k))?.get("py-env"))} |`);
}
for (const [k, g] of groups) if (!g.has("ts")) console.log(`| ${k.replace("|", " | ")} | ${[...g.values()][0]![0]!.unit} | – | ${stat(g.get("py"))} | – | ${stat(g.get("py-env"))} |`);
// fp32 matmul against the measured FMA peak (bench/fma-peak.c), when the run has one.
const peak = rows.find((r) => r.side === "c" && r.case.startsWith("fp32 FMA peak"));
if (peak) {
  console.log(`\nfp32 FMA peak (measured): ${fmt(peak.value)} GFLOP/s`);
  for (const [k, g] of groups) {
    if (!k.startsWith("matmul|float32")) continue;
    for (const side of ["ts", "py"]) {
      const rs = g.get(side);
      if (rs) console.log(`  ${k.split("|")[1]} ${side}: median ${fmt(median(rs.map((r) => r.value)))} GFLOP/s = ${fmt((100 * median(rs.map((r) => r.value))) / peak.value)} % of peak`);
    }
  }
}
for (const r of rows.filter((x) => x.bench === "rss" || x.bench === "logsoftmax")) {
  const { bench, side, value, unit, case: _c, ...extra } = r;
  console.log(`\n${bench} ${side}: ${fmt(value)} ${unit} ${JSON.stringify(extra)}`);
}
