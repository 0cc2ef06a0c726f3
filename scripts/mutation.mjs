// Runs StrykerJS on one module of scripts/mutation-modules.mjs: `npm run mutation -- <module>`
// (no module: lists them). Slow (every mutant re-runs the module's covering test files), so it
// is not part of CI. Scores: bench/reports/mutation.md.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { MODULES } from "./mutation-modules.mjs";

const name = process.argv[2];
if (!name || !(name in MODULES)) {
  console.log(`usage: npm run mutation -- <module>\nmodules: ${Object.keys(MODULES).join(", ")}`);
  process.exit(name ? 1 : 0);
}
const env = {
  ...process.env,
  MUTATION_MODULE: name,
  // The sandbox copy has no native/build: load the addon from this checkout.
  TORCHFORGE_NATIVE: process.env.TORCHFORGE_NATIVE ?? resolve("native/build/Release/torchforge_native.node"),
  TORCHFORGE_NUM_THREADS: process.env.TORCHFORGE_NUM_THREADS ?? "1",
};
// Extra arguments go to Stryker (e.g. --incremental, --concurrency 2).
const r = spawnSync(process.execPath, ["node_modules/@stryker-mutator/core/bin/stryker.js", "run", "stryker.config.mjs", ...process.argv.slice(3)], { stdio: "inherit", env });
process.exit(r.status ?? 1);
