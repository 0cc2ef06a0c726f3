/**
 * The package as a user gets it: `npm run build`, `npm pack`, `npm install <tarball>` into a fresh
 * project, then plain `node` (no TypeScript loader anywhere: tsx is not installed there) runs a
 * script that does a tensor op, loads the default model and generates, and `npx forge` prints its
 * help, runs one GRPO step with the generator in a child process, and serves the shipped model. Then examples/agent-project,
 * installed the same way, type-checks against the published types and trains one step with its
 * own reward and one with its own environment.
 *
 * Dependencies come from the npm registry; the addon is not compiled again: TORCHFORGE_PREBUILT
 * hands the install script this checkout's build, which it copies to prebuilds/ after loading it.
 * Skipped (with the reason printed) only when the registry cannot be reached.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILT_ADDON = join(ROOT, "native/build/Release/torchforge_native.node");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";

/** The environment of a user's shell: no loader options, no addon override from this test run. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.TORCHFORGE_NATIVE;
  return env;
}

function run(cmd: string, args: string[], options: SpawnSyncOptions & { what: string }): string {
  const started = Date.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  assert.equal(r.status, 0, `${options.what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}, ${seconds} s):\n${out.slice(-4000)}`);
  console.log(`${options.what}: ${seconds} s`);
  return String(r.stdout);
}

/** null when `npm ping` reaches the configured registry (through npm's own proxy settings), else why not. */
function registryProblem(): string | null {
  const r = spawnSync(NPM, ["ping", "--fetch-retries=0", "--fetch-timeout=15000"], { encoding: "utf8", timeout: 30_000, env: userEnv() });
  if (r.status === 0) return null;
  const why = `${r.stderr ?? ""}`.split("\n").find((l) => /ERR|error/i.test(l)) ?? r.error?.message ?? `exit ${r.status ?? r.signal}`;
  return `npm ping failed: ${why.trim()}`;
}

const PROBE = `// Plain node, the installed package only.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { torch } from "torchforge/torch";
import { loadPretrained, Tokenizer } from "torchforge/models";
import { GenerationEngine } from "torchforge/generation";

const t = torch.tensor([[1, 2], [3, 4]]);
const product = t.matmul(t).toArray();
const pkg = dirname(createRequire(import.meta.url).resolve("torchforge/package.json"));
const dir = join(pkg, "assets", "default-model");
const model = loadPretrained(dir);
const engine = new GenerationEngine({ model, tokenizer: Tokenizer.fromPretrained(dir), maxBatchSize: 1, maxSeqLen: 64 });
const [completion] = await engine.generate([{ prompt: "What is 12+34?" }], { n: 1, temperature: 0, maxTokens: 24 });
console.log(JSON.stringify({ product, text: completion.text, tokens: completion.tokenIds.length, pkg }));
`;

const TARGET = `${process.platform}-${process.arch}`;
const PROBLEM = registryProblem();
if (PROBLEM !== null) console.log(`SKIP pack-install: the npm registry is not reachable (${PROBLEM})`);

/** `npm install` of the tarball (and what package.json lists) in `project`, reusing this checkout's addon. */
function installInto(project: string): void {
  const reuse: Record<string, string> = existsSync(BUILT_ADDON) ? { TORCHFORGE_PREBUILT: BUILT_ADDON } : {};
  run(NPM, ["install", "--no-audit", "--no-fund", "--foreground-scripts"], { cwd: project, env: userEnv(reuse), what: `npm install in ${project}` });
  const installed = join(project, "node_modules", "torchforge");
  assert.ok(!existsSync(join(project, "node_modules", "tsx")), "no TypeScript loader in the user's project");
  if (existsSync(BUILT_ADDON)) {
    assert.ok(existsSync(join(installed, "prebuilds", TARGET, "torchforge_native.node")), "the install script placed the reused addon");
    assert.ok(!existsSync(join(installed, "native", "build")), "nothing was compiled on install");
  }
}

describe("the npm package", { skip: PROBLEM !== null ? `the npm registry is not reachable (${PROBLEM})` : false }, () => {
  const started = Date.now();
  let work = "";
  let tarball = "";
  let project = "";

  before(() => {
    work = mkdtempSync(join(tmpdir(), "tf-pack-"));
    run(NPM, ["run", "build"], { cwd: ROOT, what: "npm run build" });
    // The build just ran; --ignore-scripts keeps `prepack` from running it again.
    const packed = JSON.parse(run(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, what: "npm pack" }));
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    tarball = join(work, packed[0].filename);
    for (const want of [
      "dist/src/torch/index.js",
      "dist/src/torch/index.d.ts",
      "dist/src/torch/index.js.map",
      "dist/src/actors/child-main.js",
      "dist/bin/forge.js",
      "assets/default-model/model.safetensors",
      "apps/grpo/default.yaml",
      "native/binding.gyp",
      "native/find-libtorch.mjs",
      "native/install.mjs",
      "native/src/addon.cc",
    ]) {
      assert.ok(files.includes(want), `the tarball has ${want}`);
    }
    const unwanted = files.filter((f) => /^(tests|bench|scripts|examples|src|native\/build)\/|\.ts$(?<!\.d\.ts)/.test(f));
    assert.deepEqual(unwanted, [], "no tests, benchmarks, sources or build folders in the tarball");

    // One project for both tests (one install): a copy of the example, depending on the tarball.
    project = join(work, "agent-project");
    const skip = new Set(["node_modules", "build", "runs"]);
    cpSync(join(ROOT, "examples", "agent-project"), project, { recursive: true, filter: (src) => !skip.has(src.split(/[\\/]/).at(-1)!) });
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    assert.equal(pkg.dependencies.torchforge, "file:../..", "the example depends on the package by path");
    pkg.dependencies.torchforge = `file:${tarball}`;
    writeFileSync(join(project, "package.json"), JSON.stringify(pkg, null, 2));
    installInto(project);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`pack-install total: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test("installed in a fresh project, plain node runs tensors, the default model, generate and npx forge grpo/serve", { timeout: 300_000 }, async () => {
    writeFileSync(join(project, "probe.mjs"), PROBE);
    const result = JSON.parse(run(process.execPath, ["probe.mjs"], { cwd: project, env: userEnv(), what: "node probe.mjs" }).trim().split("\n").at(-1)!);
    assert.deepEqual(result.product, [[7, 10], [15, 22]]);
    assert.ok(result.tokens > 0 && typeof result.text === "string", "one generate call produced tokens");
    assert.match(result.text, /<answer>/, "the default model answers in its trained format");
    assert.ok(readFileSync(join(result.pkg, "package.json"), "utf8").includes('"name": "torchforge"'));

    const help = run(NPX, ["forge", "--help"], { cwd: project, env: userEnv(), what: "npx forge --help" });
    assert.match(help, /usage: forge <grpo\|sft/);
    // The default config, model and data come from the package; the generator runs in a child
    // process, which would need tsx (absent here) if it did not start from the compiled files.
    const out = join(project, "runs", "default");
    run(
      NPX,
      ["forge", "grpo", `output_dir=${out}`, "placement=separate", "training.steps=1", "training.batch_size=8", "lr_scheduler.warmup_steps=0", "~eval.eval_every_n_steps"],
      { cwd: project, env: userEnv(), what: "npx forge grpo (1 step, separate placement)", timeout: 180_000 },
    );
    assert.ok(existsSync(join(out, "metrics.jsonl")), "the run wrote its metrics");

    // forge serve: the shipped default model behind the OpenAI-compatible API, one completion.
    // Its own process group (npx → forge launcher → server), stopped as a whole below.
    const server = spawn(NPX, ["forge", "serve", "--model", "assets/default-model", "--port", "0"], {
      cwd: project,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    try {
      let log = "";
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`forge serve printed no URL within 60 s:\n${log}`)), 60_000);
        const onData = (chunk: Buffer) => {
          log += chunk.toString();
          const m = /at (http:\/\/\S+\/v1)/.exec(log);
          if (m) {
            clearTimeout(timer);
            resolveUrl(m[1]!);
          }
        };
        server.stdout!.on("data", onData);
        server.stderr!.on("data", onData);
        server.once("exit", (code) => reject(new Error(`forge serve exited with ${code}:\n${log}`)));
      });
      const res = await fetch(`${url}/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "assets/default-model", prompt: "What is 12+34?", max_tokens: 24, temperature: 0 }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { choices: Array<{ text: string }> };
      assert.match(body.choices[0]!.text, /<answer>/, "forge serve answered with the shipped model");
    } finally {
      try {
        process.kill(-server.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      server.stdout!.destroy();
      server.stderr!.destroy();
    }
  });

  test("examples/agent-project type-checks against the published types and trains its own reward and environment", { timeout: 300_000 }, () => {
    // `tsc` type-checks the example against the published .d.ts and emits build/.
    run(NPX, ["tsc"], { cwd: project, env: userEnv(), what: "tsc (example)" });
    const smoke = ["training.steps=1", "training.batch_size=8", "~eval.eval_every_n_steps"];
    for (const config of ["grpo.yaml", "grpo-env.yaml"]) {
      const out = join(project, "runs", config);
      run(NPX, ["forge", "grpo", "--config", config, `output_dir=${out}`, ...smoke], { cwd: project, env: userEnv(), what: `forge grpo --config ${config} (1 step)`, timeout: 180_000 });
      const last = JSON.parse(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").at(-1)!);
      const metrics = last.metrics ?? last;
      if (config === "grpo.yaml") assert.ok("reward/ConciseAnswer" in metrics, `the custom reward was scored (metrics: ${Object.keys(metrics).join(", ")})`);
      else assert.ok(metrics["agent/turns_per_episode"] >= 1, "episodes ran in the custom environment");
    }
    // Naming the TypeScript source instead is an error that says what to do.
    const ts = spawnSync(NPX, ["forge", "grpo", "--config", "grpo.yaml", "rewards.0.name=./src/concise-answer-reward.ts#ConciseAnswerReward", ...smoke], {
      cwd: project,
      env: userEnv(),
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.notEqual(ts.status, 0);
    assert.match(`${ts.stdout}${ts.stderr}`, /cannot import TypeScript here; compile it \(tsc\)/);
  });
});
