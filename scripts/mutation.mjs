// Runs StrykerJS on one module of scripts/mutation-modules.mjs: `npm run mutation -- <module>`
// (no module: lists them). Slow (every mutant re-runs the module's covering test files), so it
// is not part of CI. Scores: bench/reports/mutation.md.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MODULES } from "./mutation-modules.mjs";
import { loadMergedReport } from "./mutation-report.mjs";

const name = process.argv[2];
if (!name || !(name in MODULES)) {
  console.log(`usage: npm run mutation -- <module> [--rerun-survivors] [stryker options]\nmodules: ${Object.keys(MODULES).join(", ")}`);
  process.exit(name ? 1 : 0);
}
const env = {
  ...process.env,
  MUTATION_MODULE: name,
  // The sandbox copy has no native/build: load the addon from this checkout.
  TORCHFORGE_NATIVE: process.env.TORCHFORGE_NATIVE ?? resolve("native/build/Release/torchforge_native.node"),
  TORCHFORGE_NUM_THREADS: process.env.TORCHFORGE_NUM_THREADS ?? "1",
};
// --rerun-survivors: mutate only the survivors (and no-coverage mutants) left after
// the last full run and its re-runs, writing <module>.rerun-<time>.json; mutation-summary.mjs
// applies its statuses over the full run's. Only valid while the sources are unchanged since
// the full run (checked by file content).
const args = process.argv.slice(3);
if (args.includes("--rerun-survivors")) {
  args.splice(args.indexOf("--rerun-survivors"), 1);
  const merged = loadMergedReport(name);
  if (!merged) throw new Error(`--rerun-survivors needs a full run's report at bench/reports/mutation/${name}.json`);
  const ranges = new Set();
  for (const [path, f] of Object.entries(merged.report.files)) {
    if (readFileSync(path, "utf8") !== f.source) throw new Error(`${path} changed since ${merged.file} was written: run the whole module again`);
    // Report columns count from 1, Stryker's mutate ranges from 0 (lines from 1 in both).
    for (const m of f.mutants) {
      if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
      const { start, end } = m.location;
      ranges.add(`${path}:${start.line}:${start.column - 1}-${end.line}:${end.column - 1}`);
    }
  }
  if (ranges.size === 0) throw new Error(`${name} has no survivors to re-run`);
  env.MUTATION_MUTATE = JSON.stringify([...ranges]);
  env.MUTATION_REPORT_SUFFIX = `.rerun-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, "")}`;
}
// Other arguments go to Stryker (e.g. --incremental, --concurrency 2).
const r = spawnSync(process.execPath, ["node_modules/@stryker-mutator/core/bin/stryker.js", "run", "stryker.config.mjs", ...args], { stdio: "inherit", env });
process.exit(r.status ?? 1);
