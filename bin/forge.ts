#!/usr/bin/env node
/**
 * The `forge` command. Compiled (dist/bin/forge.js, the installed package's bin) it runs
 * dist/src/cli/forge.js under plain node; from the sources (`npm run forge`, under tsx) it runs
 * src/cli/forge.ts under tsx. Either way in a child process, so the GC flag below applies.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const fromSources = import.meta.url.endsWith(".ts");
const entry = fileURLToPath(new URL(fromSources ? "../src/cli/forge.ts" : "../src/cli/forge.js", import.meta.url));
const loader = fromSources ? ["--import", import.meta.resolve("tsx")] : [];
// GC on the main thread: V8's background GC threads would preempt the compute threads
// (see CHILD_NODE_FLAGS in src/actors/child-transport.ts); TORCHFORGE_CONCURRENT_GC=1 keeps them.
const gcFlags = process.env.TORCHFORGE_CONCURRENT_GC === "1" ? [] : ["--single-threaded-gc"];
const child = spawn(process.execPath, [...gcFlags, ...loader, entry, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child through the terminal's process group; do not also exit here.
process.on("SIGINT", () => {});
// A signal sent to this process alone (kill, a process manager) goes on to the child, whose exit ends this one.
for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
