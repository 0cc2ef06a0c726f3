// Reads a module's StrykerJS JSON report with the statuses of its survivor re-runs applied
// (`npm run mutation -- <module> --rerun-survivors` writes <module>.rerun-<time>.json; later
// re-runs override earlier ones). A re-run is only valid for the sources of the full run.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";

const DIR = "bench/reports/mutation";

// file:line:column-endLine:endColumn: two mutants can share a start (an expression and its first operand).
export const mutantKey = (path, m) =>
  `${path}:${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column} ${m.mutatorName} ${m.replacement.replace(/\s+/g, " ")}`;

/** { report, file, reruns: [{ file, size, time }] } with each mutant's status after the re-runs, or undefined without a report. */
export function loadMergedReport(name) {
  const file = `${DIR}/${name}.json`;
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, "utf8"));
  const fullTime = statSync(file).mtimeMs;
  const reruns = readdirSync(DIR)
    .filter((f) => f.startsWith(`${name}.rerun`) && f.endsWith(".json"))
    .map((f) => `${DIR}/${f}`)
    .filter((f) => statSync(f).mtimeMs > fullTime)
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const status = new Map();
  const applied = [];
  for (const rf of reruns) {
    let size = 0;
    for (const [path, f] of Object.entries(JSON.parse(readFileSync(rf, "utf8")).files)) {
      if (f.source !== report.files[path]?.source) throw new Error(`${rf}: ${path} differs from the full run's source`);
      for (const m of f.mutants) {
        if (m.status === "Ignored") continue;
        status.set(mutantKey(path, m), m.status);
        size++;
      }
    }
    applied.push({ file: rf, size, time: statSync(rf).mtime, kind: rf.includes("-recheck") ? "rechecked" : "re-run" });
  }
  for (const [path, f] of Object.entries(report.files)) for (const m of f.mutants) m.status = status.get(mutantKey(path, m)) ?? m.status;
  return { report, file, reruns: applied };
}
