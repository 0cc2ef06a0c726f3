// StrykerJS mutation testing, one module per run (`npm run mutation -- <module>`, see
// scripts/mutation.mjs). Each module names the sources where a silent bug corrupts training and
// only the test files that exercise them; the tap runner runs each test file as one "test", so
// per-test coverage means a mutant is tried only against the files that reach it.
// Results: bench/reports/mutation/<module>.{html,json}; summary in bench/reports/mutation.md.
import { MODULES } from "./scripts/mutation-modules.mjs";

const name = process.env.MUTATION_MODULE ?? "";
const suffix = process.env.MUTATION_REPORT_SUFFIX ?? "";
const module = MODULES[name];
if (!module) throw new Error(`MUTATION_MODULE must be one of ${Object.keys(MODULES).join(", ")}; got ${JSON.stringify(name)}`);

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  tap: {
    testFiles: module.tests,
    // node:test through tsx, TAP on stdout for the runner's parser.
    nodeArgs: ["-r", "{{hookFile}}", "--import", "tsx", "--test-reporter=tap", "{{testFile}}"],
  },
  // scripts/mutation.mjs --rerun-survivors narrows this to the last run's survivors.
  mutate: process.env.MUTATION_MUTATE ? JSON.parse(process.env.MUTATION_MUTATE) : module.mutate,
  coverageAnalysis: "perTest",
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 20000,
  timeoutFactor: 2,
  // Error-message text is checked by the tests that care about it; string mutants elsewhere are noise.
  mutator: { excludedMutations: ["StringLiteral"] },
  ignoreStatic: true,
  ignorePatterns: ["native/build", "native/build-matrix", ".scratch", "runs", "dist", "bench/reports", "node_modules"],
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: `bench/reports/mutation/${name}${suffix}.html` },
  jsonReporter: { fileName: `bench/reports/mutation/${name}${suffix}.json` },
  // Re-runs (`npm run mutation -- <module> --incremental`) re-test only mutants whose code or
  // covering tests changed since the last run's results.
  incrementalFile: `bench/reports/mutation/${name}.incremental.json`,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
