// Runs every tests/**/*.test.ts with node:test through tsx (Node 20's --test takes no globs),
// then lists every skipped test with its reason. With TORCHFORGE_CI=1 (.ci/run) a skip that
// scripts/ci-skips.json does not allow fails the run: a test CI is meant to run must run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = findTests("tests").filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "tf-run-tests-"));
const skipsFile = join(work, "skips.jsonl");
const reporters = [
  `--test-reporter=${process.stdout.isTTY ? "spec" : "tap"}`,
  "--test-reporter-destination=stdout",
  `--test-reporter=${new URL("./skip-reporter.mjs", import.meta.url).href}`,
  `--test-reporter-destination=${skipsFile}`,
];
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...reporters, ...files], {
  stdio: "inherit",
});
let status = result.status ?? 1;
let skips = [];
try {
  skips = readFileSync(skipsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
} catch {
  // no skips file: the run died before reporting
}
rmSync(work, { recursive: true, force: true });
const ci = process.env.TORCHFORGE_CI === "1";
const allowed = ci ? JSON.parse(readFileSync(new URL("./ci-skips.json", import.meta.url), "utf8")).allowed : [];
// An entry with `env` applies only when that variable is "1" (set by .ci/run when it could not get the data).
const isAllowed = (s) =>
  allowed.some((a) => (!a.env || process.env[a.env] === "1") && new RegExp(a.file).test(s.file) && new RegExp(a.name).test(s.name) && new RegExp(a.reason).test(s.reason));
const unexpected = [];
if (skips.length > 0) console.log(`\nrun-tests: ${skips.length} skipped:`);
for (const s of skips) {
  const bad = ci && !isAllowed(s);
  if (bad) unexpected.push(s);
  console.log(`  ${bad ? "UNEXPECTED " : ""}skip ${relative(process.cwd(), s.file) || "?"} › ${s.name}: ${s.reason || "(no reason given)"}`);
}
if (unexpected.length > 0) {
  console.log(`run-tests: ${unexpected.length} skip(s) CI does not allow (scripts/ci-skips.json); failing`);
  status = status || 1;
}
process.exit(status);
