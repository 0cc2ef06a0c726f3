#!/usr/bin/env node
// The package's `install` script: makes sure a torchforge_native.node that loads on this machine
// is in place, building it against the machine's libtorch only when none does. In order:
//   1. TORCHFORGE_SKIP_NATIVE=1: do nothing (CI images that bring their own, docs builds);
//   2. TORCHFORGE_PREBUILT=<file>: a binary built elsewhere, copied to prebuilds/<platform>-<arch>/
//      if it loads here;
//   3. an earlier build in native/build/Release, or prebuilds/<platform>-<arch>/torchforge_native.node
//      (shipped in the tarball): kept if it loads (installing twice is fast); the loader
//      (src/torch/native.ts) takes them in the same order;
//   4. node-gyp rebuild in native/, against the libtorch native/find-libtorch.mjs finds ($LIBTORCH,
//      python3's torch, Debian's libtorch-dev), with the running Node's own headers when it has them.
// TORCHFORGE_BUILD_FROM_SOURCE=1 skips 2-3. "Loads" means require() succeeds in a child process
// and the module has the addon's opTable(): libtorch's shared libraries resolve, the ABI matches.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const nativeDir = join(root, "native");
const prebuilt = join(root, "prebuilds", `${process.platform}-${process.arch}`, "torchforge_native.node");
const built = join(nativeDir, "build", "Release", "torchforge_native.node");
const say = (msg) => console.log(`torchforge: ${msg}`);

/** null when `path` loads as the addon in a fresh process, else why not (the loader's last words). */
function loadError(path) {
  const probe = `const a = require(${JSON.stringify(path)}); if (typeof a.opTable !== "function") { console.error("not a torchforge addon (no opTable)"); process.exit(3); }`;
  const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8", env: { ...process.env, GOMP_SPINCOUNT: "0" } });
  if (r.status === 0) return null;
  const lines = `${r.stderr ?? ""}${r.error?.message ?? ""}`.trim().split("\n").filter((l) => l.trim() && !l.startsWith("    at "));
  return lines.find((l) => /Error|cannot open|undefined symbol|not a torchforge/.test(l)) ?? lines.at(-1) ?? `exit code ${r.status}`;
}

/** `--nodedir` for node-gyp: the running Node's install prefix when it carries the headers (no download). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return []; // the user's npm config already says; node-gyp reads it
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) return [`--nodedir=${prefix}`];
  // Else node-gyp fetches the headers for this Node version once (node-api-headers would not do:
  // node-gyp wants a whole nodedir, common.gypi included).
  return [];
}

function main() {
  if (process.env.TORCHFORGE_SKIP_NATIVE === "1") {
    say("TORCHFORGE_SKIP_NATIVE=1: native addon not built (set TORCHFORGE_NATIVE to one at run time)");
    return 0;
  }
  if (process.env.TORCHFORGE_BUILD_FROM_SOURCE !== "1") {
    const given = process.env.TORCHFORGE_PREBUILT;
    if (given) {
      const why = existsSync(given) ? loadError(given) : "does not exist";
      if (why === null) {
        mkdirSync(dirname(prebuilt), { recursive: true });
        copyFileSync(given, prebuilt);
        say(`using TORCHFORGE_PREBUILT=${given} (copied to ${prebuilt})`);
        return 0;
      }
      say(`TORCHFORGE_PREBUILT=${given} is not usable here (${why}); trying the others`);
    }
    for (const candidate of [built, prebuilt]) {
      if (!existsSync(candidate)) continue;
      const why = loadError(candidate);
      if (why === null) {
        say(`native addon ${candidate} loads; nothing to build`);
        return 0;
      }
      say(`${candidate} does not load here (${why})`);
      // A stale local build would shadow a prebuilt binary that loads (the loader prefers it).
      if (candidate === built) rmSync(built);
    }
    say("building from source");
  }

  // Which libtorch: the same discovery binding.gyp uses, run first so a missing one is one clear message.
  const lt = spawnSync(process.execPath, [join(nativeDir, "find-libtorch.mjs"), "describe"], { cwd: nativeDir, encoding: "utf8" });
  if (lt.status !== 0) {
    const msg = (lt.stderr ?? "").split("\n").find((l) => /Error:/.test(l)) ?? lt.stderr;
    console.error(`torchforge: cannot build the native addon: ${msg.replace(/^.*?Error: /, "")}`);
    console.error("torchforge: (or point TORCHFORGE_PREBUILT at a torchforge_native.node built for this machine)");
    return 1;
  }
  say(`building the native addon against ${JSON.parse(lt.stdout).source} libtorch (node-gyp; a few minutes)`);
  const gyp = createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  const args = [gyp, "rebuild", "--directory", nativeDir, "-j", String(availableParallelism()), ...nodedirArgs()];
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`torchforge: node-gyp failed (exit ${r.status ?? r.signal}); see its output above`);
    return 1;
  }
  const why = loadError(built);
  if (why !== null) {
    console.error(`torchforge: built ${built} but it does not load: ${why}`);
    return 1;
  }
  say(`built ${built}`);
  return 0;
}

process.exit(main());
