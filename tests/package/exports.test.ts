/**
 * The package's shape without building it: `exports` point at dist/ files built from sources that
 * exist, `files` ships no tests or sources, and the helpers that find the package's own files from
 * sources and from dist/ alike.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { childLoaderArgs } from "../../src/actors/child-transport.ts";
import { FROM_SOURCES, PACKAGE_ROOT, packagePath, resolveShipped, siblingModule } from "../../src/util/package-root.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

describe("package.json", () => {
  it("exports every entry point as { types, default } under dist/, built from a source that exists", () => {
    const entries = Object.entries(pkg.exports as Record<string, unknown>).filter(([key]) => key !== "./package.json");
    assert.ok(entries.length >= 14, `entry points: ${entries.map(([k]) => k).join(", ")}`);
    for (const [key, target] of entries) {
      assert.deepEqual(Object.keys(target as object), ["types", "default"], `${key}: types first, then default`);
      const { types, default: js } = target as { types: string; default: string };
      assert.match(js, /^\.\/dist\/src\/.+\/index\.js$/, `${key} default`);
      assert.equal(types, js.replace(/\.js$/, ".d.ts"), `${key} types sit beside the JavaScript`);
      const source = join(ROOT, js.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts"));
      assert.ok(existsSync(source), `${key} is built from ${source}`);
    }
    for (const name of ["torch", "models", "generation", "rl", "losses", "rewards", "data", "actors", "config", "trainer", "observability", "store", "envs", "rollout"]) {
      assert.ok(`./${name}` in pkg.exports, `torchforge/${name} is exported`);
    }
  });

  it("exports every library folder that has an index.ts (a new one needs its entry point)", () => {
    const built = new Set(
      Object.values(pkg.exports as Record<string, { default?: string }>).map((t) => t.default?.replace(/^\.\/dist\/(.+)\/index\.js$/, "$1")),
    );
    const folders = readdirSync(join(ROOT, "src")).filter((d) => existsSync(join(ROOT, "src", d, "index.ts")) && d !== "util" && d !== "cli");
    assert.ok(folders.includes("torch") && folders.includes("actors"));
    for (const d of folders) assert.ok(built.has(`src/${d}`), `src/${d}/index.ts has no entry in package.json "exports" (add "./${d}": { types, default } under dist/)`);
  });

  it("runs forge from the compiled launcher and builds the addon on install", () => {
    assert.equal(pkg.bin.forge, "dist/bin/forge.js");
    assert.ok(existsSync(join(ROOT, "bin/forge.ts")), "the launcher's source");
    assert.equal(pkg.scripts.install, "node native/install.mjs");
    assert.ok(pkg.dependencies["node-gyp"] && pkg.dependencies["node-addon-api"], "the install-time build's tools are runtime dependencies");
  });

  it("ships dist/, the addon's sources, assets and configs, and no tests, benchmarks or sources", () => {
    const files: string[] = pkg.files;
    for (const want of ["dist/", "native/src/", "native/binding.gyp", "native/find-libtorch.mjs", "native/install.mjs", "assets/", "apps/**/*.yaml"]) {
      assert.ok(files.includes(want), `files has ${want}`);
    }
    assert.deepEqual(
      files.filter((f) => /^(tests|bench|scripts|examples|src|native\/build)\b/.test(f)),
      [],
    );
  });
});

describe("finding the package's own files", () => {
  it("knows the package root from the sources", () => {
    assert.equal(FROM_SOURCES, true);
    assert.equal(resolve(PACKAGE_ROOT), resolve(ROOT));
    assert.ok(existsSync(packagePath("assets", "default-model", "config.json")));
  });

  it("names code siblings with the running module's extension", () => {
    assert.equal(siblingModule("../../apps/grpo/main.ts", "file:///pkg/dist/src/cli/forge.js").href, "file:///pkg/dist/apps/grpo/main.js");
    assert.equal(siblingModule("./child-main.ts", "file:///pkg/src/actors/child-transport.ts").href, "file:///pkg/src/actors/child-main.ts");
    assert.throws(() => siblingModule("./child-main.js", "file:///pkg/src/a.ts"), /must end with \.ts/);
  });

  it("resolves a relative path from the working directory first, then from the package", () => {
    const before = process.cwd();
    const empty = mkdtempSync(join(tmpdir(), "tf-shipped-"));
    try {
      process.chdir(empty);
      assert.equal(resolveShipped("assets/default-model"), packagePath("assets", "default-model"), "shipped when absent here");
      assert.equal(resolveShipped("no/such/dir"), join(empty, "no/such/dir"), "the working-directory path when neither exists");
      assert.equal(resolveShipped("/abs/assets/default-model"), "/abs/assets/default-model", "absolute paths are never redirected");
      process.chdir(ROOT);
      assert.equal(resolveShipped("assets"), join(ROOT, "assets"));
    } finally {
      process.chdir(before);
    }
  });

  it("starts actor children under tsx only for TypeScript", () => {
    // From the sources child-main itself is TypeScript, so every child needs the loader.
    const args = childLoaderArgs("file:///project/build/my-actor.js");
    assert.equal(args[0], "--import");
    assert.match(args[1]!, /tsx/);
  });
});
