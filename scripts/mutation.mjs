// Runs StrykerJS on one module of scripts/mutation-modules.mjs: `npm run mutation -- <module>`
// (no module: lists them). Slow (every mutant re-runs the module's covering test files), so it
// is not part of CI. Scores: bench/reports/mutation.md.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MODULES } from "./mutation-modules.mjs";

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
// --rerun-survivors: mutate only the survivors (and no-coverage mutants) of the last full run's
// report, writing <module>.rerun.json; mutation-summary.mjs lets its statuses override the full
// run's. Only valid while the sources are unchanged since that run (checked by file content).
const args = process.argv.slice(3);
if (args.includes("--rerun-survivors")) {
  args.splice(args.indexOf("--rerun-survivors"), 1);
  const file = `bench/reports/mutation/${name}.json`;
  if (!existsSync(file)) throw new Error(`--rerun-survivors needs a full run's report at ${file}`);
  const report = JSON.parse(readFileSync(file, "utf8"));
  const ranges = [];
  for (const [path, f] of Object.entries(report.files)) {
    if (readFileSync(path, "utf8") !== f.source) throw new Error(`${path} changed since ${file} was written: run the whole module again`);
    for (const m of f.mutants) {
      if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
      const { start, end } = m.location;
      ranges.push(`${path}:${start.line}:${start.column}-${end.line}:${end.column}`);
    }
  }
  if (ranges.length === 0) throw new Error(`${file} has no survivors to re-run`);
  env.MUTATION_MUTATE = JSON.stringify([...new Set(ranges)]);
  env.MUTATION_REPORT_SUFFIX = ".rerun";
}
// Other arguments go to Stryker (e.g. --incremental, --concurrency 2).
const r = spawnSync(process.execPath, ["node_modules/@stryker-mutator/core/bin/stryker.js", "run", "stryker.config.mjs", ...args], { stdio: "inherit", env });
process.exit(r.status ?? 1);
