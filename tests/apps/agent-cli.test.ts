// `forge agent`: usage, help, and the errors a user sees before any NATS traffic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main, defaultHostName } from "../../apps/agent/main.ts";
import { HOST_NAME } from "../../src/actors/index.ts";

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test("forge agent: --help prints the usage; a missing --nats or unknown flag is a usage error (2)", async () => {
  const help = await capture(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /usage: forge agent --nats nats:\/\/HOST:4222 \[--host NAME\]/);
  const missing = await capture(["--host", "a"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--nats is required/);
  assert.equal((await capture(["--nats", "nats://x:1", "--bogus"])).code, 2);
});

test("forge agent: a host name with dots is refused with a suggestion; an unreachable server is a runtime error (1)", async () => {
  const dotted = await capture(["--nats", "nats://127.0.0.1:1", "--host", "node1.example.org"]);
  assert.equal(dotted.code, 1);
  assert.match(dotted.err, /'node1\.example\.org' must be letters, digits, '-' or '_'.*such as "node1"/);
  const down = await capture(["--nats", "nats://127.0.0.1:1", "--host", "hostA"]);
  assert.equal(down.code, 1);
  assert.match(down.err, /NATS server: nats:\/\/127\.0\.0\.1:1/);
  assert.match(defaultHostName(), HOST_NAME);
});
