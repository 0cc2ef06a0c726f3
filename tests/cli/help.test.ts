/** `forge --help` / `forge grpo|sft --help` are generated from the schemas and cover every key; exit codes per error class match the README. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configKeyDocs, formatConfigHelp } from "../../src/config/help.ts";
import { grpoConfigSchema, sftConfigSchema, ConfigValidationError, ConfigOverrideError } from "../../src/config/index.ts";
import { main as forgeMain } from "../../src/cli/forge.ts";
import { EXIT_CODES } from "../../src/util/exit-codes.ts";
import { classifyError, reportError } from "../../apps/shared/cli.ts";
import { ModelLoadError } from "../../src/models/errors.ts";
import { DatasetNotFoundError } from "../../src/data/errors.ts";
import { RLOptionError } from "../../src/rl/errors.ts";
import { GrpoConfigError } from "../../apps/grpo/errors.ts";
import { renderDescriptions, OUTPUT } from "../../scripts/gen-config-descriptions.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  const out: string[] = [];
  const err: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await fn();
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Every object key of a zod schema, independently of help.ts: dotted paths, `[]` for list items, `*` for map values. */
function schemaKeys(s: z.ZodType, path = "", out = new Set<string>()): Set<string> {
  const d = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  const inner = (t: unknown, p = path) => schemaKeys(t as z.ZodType, p, out);
  if (d.type === "object") {
    for (const [k, v] of Object.entries(d.shape as Record<string, z.ZodType>)) {
      const p = path ? `${path}.${k}` : k;
      out.add(p);
      inner(v, p);
    }
  } else if (["optional", "nullable", "default", "prefault", "readonly"].includes(d.type)) inner(d.innerType);
  else if (d.type === "pipe") inner(d.in);
  else if (d.type === "array") inner(d.element, `${path}[]`);
  else if (d.type === "record") inner(d.valueType, `${path}.*`);
  else if (d.type === "union") for (const o of d.options as z.ZodType[]) inner(o);
  return out;
}

for (const [app, schema] of [["grpo", grpoConfigSchema], ["sft", sftConfigSchema]] as const) {
  test(`forge ${app} --help names every schema key with its type and default, and shows an example`, async () => {
    const { code, out } = await capture(() => forgeMain([app, "--help"]));
    assert.equal(code, 0);
    assert.match(out, new RegExp(`usage: forge ${app}`));
    assert.match(out, /example:\n  forge /);
    assert.match(out, /exit codes: 0 done, 1 runtime error, 2 usage error, 3 config error, 4 load error, 130 interrupted/);
    const keys = [...schemaKeys(schema)];
    assert.ok(keys.length > 100, `${keys.length} keys found`);
    const listed = new Set(configKeyDocs(schema).map((k) => k.path));
    for (const key of keys) assert.ok(listed.has(key), `${app}: key ${key} missing from the help`);
    for (const key of keys.filter((k) => !k.includes("."))) assert.match(out, new RegExp(`^(${key}\\b|  ${key}:)`, "m"), `${app} section/key ${key}`);
    // Each nested key appears under its section with its type and default.
    for (const doc of configKeyDocs(schema).filter((k) => k.type !== "section" && k.path.includes("."))) {
      const section = doc.path.split(/[.[]/)[0]!;
      const rel = doc.path.slice(section.length).replace(/^\./, "");
      const dflt = doc.default !== undefined ? ` = ${doc.default}` : "";
      assert.ok(out.includes(`  ${rel}: ${doc.type}${dflt}`), `${app}: '${rel}: ${doc.type}${dflt}' under ${section}`);
    }
  });
}

test("help shows schema facts: defaults, enum values, bounds and descriptions from the schema comments", () => {
  const grpo = formatConfigHelp(grpoConfigSchema);
  assert.match(grpo, /^training — Optimizer steps, batch and trainer numerics\.\n/m);
  assert.match(grpo, /  batch_size: int > 0 = 16\n      Episodes \(completions\) per optimizer step/);
  assert.match(grpo, /  kl_estimator: k1 \| k2 \| k3 = k3/);
  assert.match(grpo, /  top_p: number > 0, <= 1 = 1/);
  assert.match(grpo, /  placement: colocated \| separate = colocated/);
  // A zod .describe() wins over the comment.
  const custom = z.strictObject({ a: z.number().default(2).describe("the a knob"), s: z.strictObject({ b: z.enum(["x", "y"]).optional() }).prefault({}) });
  const text = formatConfigHelp(custom);
  assert.match(text, /  a: number = 2\n      the a knob/);
  assert.match(text, /^s\n  b: x \| y \(optional\)/m);
});

test("forge --help lists both apps' config sections with keys and defaults, and examples", async () => {
  const { code, out } = await capture(() => forgeMain(["--help"]));
  assert.equal(code, 0);
  for (const app of ["grpo", "sft", "serve"]) assert.match(out, new RegExp(`^  ${app} `, "m"));
  assert.match(out, /forge grpo config sections/);
  assert.match(out, /^  training: batch_size=16, .*learning_rate=0\.00001/m);
  assert.match(out, /forge sft config sections/);
  assert.match(out, /examples:\n  forge grpo --config/);
});

test("the descriptions file is generated from the schema comments and up to date", () => {
  assert.equal(readFileSync(OUTPUT, "utf8"), renderDescriptions(), "run: npx tsx scripts/gen-config-descriptions.ts");
});

test("exit codes per error class are the README's table", () => {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const rows = [...readme.matchAll(/^\| (\d+) \| (done|runtime error|usage error|config error|load error|interrupted) \|/gm)].map((m) => [m[2]!, Number(m[1])]);
  const documented = Object.fromEntries(rows);
  assert.deepEqual(documented, {
    done: EXIT_CODES.ok,
    "runtime error": EXIT_CODES.runtime,
    "usage error": EXIT_CODES.usage,
    "config error": EXIT_CODES.config,
    "load error": EXIT_CODES.load,
    interrupted: EXIT_CODES.interrupted,
  });
  assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.values(EXIT_CODES).length, "one code per class");
});

test("each error class gets its code and one line 'forge <app>: <class> error: <message>'", async () => {
  const cases: [unknown, keyof typeof EXIT_CODES, RegExp][] = [
    [new ConfigOverrideError({ override: "training.steps", reason: "missing value" }), "usage", /^forge grpo: usage error: bad config override/],
    [new ConfigValidationError([{ path: "training.stepz", message: "unknown key" }]), "config", /^forge grpo: config error: invalid config/],
    [new GrpoConfigError("grpo.beta > 0 needs services.ref_model"), "config", /^forge grpo: config error: grpo\.beta/],
    [new RLOptionError("clipLow", "a number in [0, 1]", 2), "config", /^forge grpo: config error: /],
    [new ModelLoadError("/m", "bad safetensors header"), "load", /^forge grpo: load error: \/m: bad safetensors/],
    [new DatasetNotFoundError("/x.jsonl", "no such file"), "load", /^forge grpo: load error: dataset not found at \/x\.jsonl/],
    [Object.assign(new Error("ENOENT: no such file, open '/x'"), { code: "ENOENT" }), "load", /^forge grpo: load error: ENOENT/],
    [new RangeError("boom"), "runtime", /^forge grpo: error: RangeError: boom$/],
  ];
  for (const [err, kind, line] of cases) {
    assert.equal(classifyError(err), kind === "ok" || kind === "interrupted" ? "runtime" : kind, String(err));
    const { code, err: stderr } = await capture(async () => reportError("grpo", err));
    assert.equal(code, EXIT_CODES[kind], String(err));
    assert.match(stderr, line);
  }
});

test("forge and the apps exit with the class's code end to end (usage 2, config 3, load 4)", async () => {
  let r = await capture(() => forgeMain([]));
  assert.equal(r.code, EXIT_CODES.usage);
  assert.match(r.err, /^forge: usage error: no app given/);
  r = await capture(() => forgeMain(["bogus"]));
  assert.equal(r.code, EXIT_CODES.usage);
  assert.match(r.err, /^forge: usage error: unknown app 'bogus'/);
  r = await capture(() => forgeMain(["grpo", "training.steps"]));
  assert.equal(r.code, EXIT_CODES.usage);
  assert.match(r.err, /^forge grpo: usage error: /);
  r = await capture(() => forgeMain(["sft", "training.stepz=3"]));
  assert.equal(r.code, EXIT_CODES.config);
  assert.match(r.err, /^forge sft: config error: invalid config \(1 problem\):\n  training\.stepz: unknown key \(did you mean "steps"\?\)/);
  r = await capture(() => forgeMain(["grpo", "--config", "/nonexistent/config.yaml"]));
  assert.equal(r.code, EXIT_CODES.config);
  assert.match(r.err, /^forge grpo: config error: config file .*nonexistent/);
  const dir = mkdtempSync(join(tmpdir(), "forge-help-"));
  try {
    r = await capture(() => forgeMain(["grpo", "model.path=/nonexistent/model", `output_dir=${dir}`]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(r.code, EXIT_CODES.load, r.err);
  assert.match(r.err, /^forge grpo: load error: model '\/nonexistent\/model' not found/);
});
