// Re-applies each mutant still surviving in a module's merged report (full run + re-runs) to the
// working tree, one at a time, and runs the given test files against it: a cheaper check than a
// Stryker re-run when only a few tests were added. `node scripts/mutation-recheck.mjs <module>
// <test file>...`. Writes bench/reports/mutation/<module>.rerun-<time>-recheck.json, which
// mutation-summary.mjs merges like a re-run: a mutant killed by some of the module's tests is
// killed by all of them; one that survives these files is left "Survived" (conservative).
import { spawnSync } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { MODULES } from "./mutation-modules.mjs";
import { loadMergedReport } from "./mutation-report.mjs";

const [name, ...tests] = process.argv.slice(2);
if (!(name in MODULES) || tests.length === 0) {
  console.log("usage: node scripts/mutation-recheck.mjs <module> <test file>...");
  process.exit(1);
}
const merged = loadMergedReport(name);
if (!merged) throw new Error(`no report for ${name}`);
const writeAtomic = (path, text) => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};
const runTests = () => spawnSync(process.execPath, ["scripts/run-tests.mjs", ...tests], { encoding: "utf8", timeout: 180_000 });
const baseline = runTests();
if (baseline.error || baseline.status !== 0) throw new Error(`the tests fail without any mutant: ${tests.join(" ")}\n${baseline.stdout?.slice(-2000)}`);
const BINARY = new Set(["LogicalOperator", "EqualityOperator", "ArithmeticOperator"]);
const files = {};
let current;
const restore = () => current && writeAtomic(current.path, current.source);
process.on("SIGINT", () => (restore(), process.exit(130)));
process.on("SIGTERM", () => (restore(), process.exit(143)));
for (const [path, f] of Object.entries(merged.report.files)) {
  if (readFileSync(path, "utf8") !== f.source) throw new Error(`${path} changed since ${merged.file} was written`);
  const lineStarts = [0];
  for (let i = 0; i < f.source.length; i++) if (f.source[i] === "\n") lineStarts.push(i + 1);
  const offset = (p) => lineStarts[p.line - 1] + p.column - 1; // report positions count from 1
  const mutants = [];
  for (const m of f.mutants) {
    if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
    current = { path, source: f.source };
    // Stryker replaces an AST node; pasted as text, a binary operator could bind to its neighbours
    // (`a || b && c` for the left operand of `&&`): keep it one operand.
    const text = BINARY.has(m.mutatorName) ? `(${m.replacement})` : m.replacement;
    writeAtomic(path, f.source.slice(0, offset(m.location.start)) + text + f.source.slice(offset(m.location.end)));
    let status;
    try {
      const r = runTests();
      status = r.error ? "Timeout" : r.status === 0 ? "Survived" : "Killed";
    } finally {
      restore();
      current = undefined;
    }
    console.log(`${status.padEnd(8)} ${path}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} → ${m.replacement.replace(/\s+/g, " ").slice(0, 60)}`);
    mutants.push({ ...m, status });
  }
  if (mutants.length) files[path] = { language: f.language, source: f.source, mutants };
}
const out = `bench/reports/mutation/${name}.rerun-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, "")}-recheck.json`;
writeAtomic(out, JSON.stringify({ schemaVersion: "1", thresholds: {}, files, recheck: { tests } }));
console.log(`wrote ${out}`);
