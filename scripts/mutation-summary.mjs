// Summarises StrykerJS JSON reports (bench/reports/mutation/<module>.json) as a markdown table
// and lists surviving mutants: `node scripts/mutation-summary.mjs [module...]`.
// Score = (killed + timed out) / (killed + timed out + survived + no coverage); ignored
// (excluded mutators, static code) and compile errors are not counted.
import { existsSync, readFileSync } from "node:fs";
import { MODULES } from "./mutation-modules.mjs";

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(MODULES);
const rows = [];
const survivors = [];
for (const name of names) {
  const file = `bench/reports/mutation/${name}.json`;
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, "utf8"));
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const [path, f] of Object.entries(report.files)) {
    const lines = f.source.split("\n");
    for (const m of f.mutants) {
      if (m.status in c) c[m.status]++;
      if (m.status === "Survived" || m.status === "NoCoverage") {
        const l = m.location.start.line;
        survivors.push(`${name}: ${path}:${l}:${m.location.start.column} ${m.mutatorName} ${m.status} — \`${lines[l - 1].trim().slice(0, 90)}\` → \`${m.replacement.replace(/\s+/g, " ").slice(0, 60)}\``);
      }
    }
  }
  const total = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  rows.push(`| ${name} | ${total} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${total ? (((c.Killed + c.Timeout) / total) * 100).toFixed(1) : "-"}% |`);
}
console.log("| module | mutants | killed | timed out | survived | no coverage | score |\n|---|---|---|---|---|---|---|");
console.log(rows.join("\n"));
console.log("\nSurvivors:\n" + survivors.map((s) => `- ${s}`).join("\n"));
