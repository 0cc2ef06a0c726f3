// `forge serve`: argument parsing, and serving the built-in tiny model until the signal aborts.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { torch } from "../../src/torch/index.ts";
import { main as forgeMain } from "../../src/cli/forge.ts";
import { parseServeArgs, serveModel, UsageError } from "../../apps/serve/main.ts";
import type { RunningServer } from "../../src/serve/index.ts";

torch.setNumThreads(1);

test("parseServeArgs: defaults, flags, and usage errors that name the flag", () => {
  const o = parseServeArgs(["--model", "Qwen/Qwen3-1.7B", "--port", "9000", "--max-concurrency", "4", "--dtype", "bfloat16", "--no-thinking"]);
  assert.deepEqual(
    [o.model, o.host, o.port, o.maxConcurrency, o.maxQueue, o.dtype, o.enableThinking],
    ["Qwen/Qwen3-1.7B", "127.0.0.1", 9000, 4, 256, "bfloat16", false],
  );
  assert.throws(() => parseServeArgs([]), UsageError);
  assert.throws(() => parseServeArgs(["--model", "a", "--preset", "tiny"]), /exactly one of --model/);
  assert.throws(() => parseServeArgs(["--preset", "tiny", "--port", "x"]), /--port must be an integer/);
  assert.throws(() => parseServeArgs(["--preset", "tiny", "--dtype", "int8"]), /--dtype must be one of/);
  assert.throws(() => parseServeArgs(["--preset", "tiny", "--bogus"]), UsageError);
});

test("forge serve is registered: --help prints its usage, bad arguments exit 2", async () => {
  const log = console.log;
  const error = console.error;
  const out: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    assert.equal(await forgeMain(["serve", "--help"]), 0);
    assert.equal(await forgeMain(["serve", "--port", "1"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.match(out.join("\n"), /usage: forge serve/);
  assert.match(out.join("\n"), /exactly one of --model/);
});

test("serveModel serves the tiny preset over the OpenAI API and shuts down on abort", async () => {
  const controller = new AbortController();
  let server: RunningServer | undefined;
  const log = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    const running = serveModel(parseServeArgs(["--preset", "tiny", "--port", "0", "--max-seq-len", "64"]), { signal: controller.signal, onListening: (s) => (server = s) });
    while (!server) await new Promise((r) => setTimeout(r, 5));
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    assert.equal((await client.models.list()).data[0]!.id, "tiny");
    const r = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "1+1?" }], max_tokens: 5, seed: 1 });
    assert.equal((r as unknown as { choices: Array<{ token_ids: number[] }> }).choices[0]!.token_ids.length > 0, true);
    controller.abort();
    await running;
    await assert.rejects(fetch(`${server.url}/health`));
  } finally {
    console.log = log;
  }
  assert.match(lines.join("\n"), /serving 'tiny' \(preset:tiny, float32, context 64\) at http:\/\/127\.0\.0\.1:\d+\/v1/);
});

test("the process serves until SIGTERM, then exits 0", async () => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--import", "tsx", "apps/serve/main.ts", "--preset", "tiny", "--port", "0", "--max-seq-len", "64"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TORCHFORGE_NUM_THREADS: "1" },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!/at (http:\S+)\/v1/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const url = /at (http:\S+)\/v1/.exec(out)?.[1];
    assert.ok(url, `no URL printed: ${out}`);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, out);
    assert.match(out, /shutting down/);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
