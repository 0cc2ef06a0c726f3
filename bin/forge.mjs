#!/usr/bin/env node
// The `forge` command: runs src/cli/forge.ts under tsx (the package ships TypeScript sources).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../src/cli/forge.ts", import.meta.url));
// GC on the main thread: V8's background GC threads would preempt the compute threads
// (see CHILD_NODE_FLAGS in src/actors/child-transport.ts); TORCHFORGE_CONCURRENT_GC=1 keeps them.
const gcFlags = process.env.TORCHFORGE_CONCURRENT_GC === "1" ? [] : ["--single-threaded-gc"];
const child = spawn(process.execPath, [...gcFlags, "--import", "tsx", entry, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child through the terminal's process group; do not also exit here.
process.on("SIGINT", () => {});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
