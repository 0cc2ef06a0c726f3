// Summarises StrykerJS JSON reports (bench/reports/mutation/<module>.json) as a markdown table
// and lists surviving mutants: `node scripts/mutation-summary.mjs [module...]`.
// Mutants listed in scripts/mutation-equivalents.mjs (with a reason each) count as equivalent:
// score = (killed + timed out) / (all − equivalent); "all" leaves out ignored (excluded
// mutators, static code) and compile errors. A listed equivalent that a test killed, or that no
// report has, is printed as stale so the list cannot silently rot.
import { existsSync, readFileSync, statSync } from "node:fs";
import { execSync } from "node:child_process";
import { MODULES } from "./mutation-modules.mjs";
import { EQUIVALENTS } from "./mutation-equivalents.mjs";
import { loadMergedReport, mutantKey } from "./mutation-report.mjs";

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(MODULES);
const rows = [];
const survivors = [];
const equivalents = [];
const stale = [];
for (const name of names) {
  const merged = loadMergedReport(name);
  if (!merged) continue;
  const { report, file } = merged;
  const rerunNote = merged.reruns.map((r) => ` + ${r.size} ${r.kind} ${r.time.toISOString().slice(11, 16)}`).join("");
  const listed = new Map((EQUIVALENTS[name] ?? []).map((e) => [`${e.at} ${e.mutator} ${e.replacement}`, e]));
  const seen = new Set();
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Equivalent: 0 };
  for (const [path, f] of Object.entries(report.files)) {
    if (existsSync(path) && readFileSync(path, "utf8") !== f.source) stale.push(`${name}: ${path} changed since the report was written`);
    const lines = f.source.split("\n");
    for (const m of f.mutants) {
      const l = m.location.start.line;
      const replacement = m.replacement.replace(/\s+/g, " ");
      const key = mutantKey(path, m);
      if (!(m.status in c)) continue;
      c[m.status]++;
      const eq = listed.get(key);
      if (eq) seen.add(key);
      const line = `${name}: ${path}:${l}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column} ${m.mutatorName} ${m.status} — \`${lines[l - 1].trim().slice(0, 90)}\` → \`${replacement.slice(0, 60)}\``;
      if (m.status === "Survived" || m.status === "NoCoverage") {
        if (eq) {
          c.Equivalent++;
          equivalents.push(`${line}: ${eq.reason}`);
        } else survivors.push(line);
      } else if (eq) stale.push(`${key} is listed as equivalent but was ${m.status}`);
    }
  }
  for (const key of listed.keys()) if (!seen.has(key)) stale.push(`${name}: ${key} is listed as equivalent but is not in the report`);
  const total = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  const pct = (a, b) => (b ? `${((a / b) * 100).toFixed(1)}%` : "-");
  const when = statSync(file).mtime.toISOString().slice(0, 16).replace("T", " ");
  rows.push(`| ${name} | ${total} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.Equivalent} | ${pct(c.Killed + c.Timeout, total)} | **${pct(c.Killed + c.Timeout, total - c.Equivalent)}** | ${when}${rerunNote} |`);
}
let commit = "?";
try {
  commit = execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
} catch {}
console.log(`Summary at commit ${commit} (reports' times in UTC).\n`);
console.log("| module | mutants | killed | timed out | survived | no coverage | of which equivalent | raw score | score without equivalents | run (UTC) |\n|---|---|---|---|---|---|---|---|---|---|");
console.log(rows.join("\n"));
console.log("\nSurviving, not equivalent:\n" + (survivors.length ? survivors.map((s) => `- ${s}`).join("\n") : "(none)"));
console.log("\nEquivalent (scripts/mutation-equivalents.mjs):\n" + equivalents.map((s) => `- ${s}`).join("\n"));
if (stale.length) console.log("\nStale equivalent entries:\n" + stale.map((s) => `- ${s}`).join("\n"));
