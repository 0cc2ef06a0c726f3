/**
 * Actor runtime round-trip benchmark: an empty endpoint (`Counter.noop`) called
 *   - sequentially (one call in flight): round-trip latency
 *   - with 64 calls in flight: calls per second
 * in the controller process, in a child process (actor mesh `callOne`, service `route`) and, when
 * Debian's `nats-server` is installed, through NATS and a host agent on this machine.
 * Each figure is the median of 5 runs.
 *
 *   node --import tsx bench/actors-latency.ts
 */
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism, cpus } from "node:os";
import { NatsCluster, runHostAgent } from "../src/actors/index.ts";
import { Counter } from "../tests/actors/fixtures/counter.ts";

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function sequential(call: () => Promise<unknown>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call();
  return ((performance.now() - t0) * 1000) / n; // µs per call
}

async function pipelined(call: () => Promise<unknown>, n: number, inFlight: number): Promise<number> {
  let issued = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (issued < n) {
      issued++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return n / ((performance.now() - t0) / 1000); // calls per second
}

async function measure(label: string, call: () => Promise<unknown>, n: number): Promise<string> {
  await sequential(call, Math.min(n, 500)); // warm up
  const lat: number[] = [];
  const tput: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    lat.push(await sequential(call, n));
    tput.push(await pipelined(call, n * 4, 64));
  }
  return `| ${label} | ${median(lat).toFixed(2)} | ${Math.round(median(tput)).toLocaleString("en-US")} |`;
}

const rows: string[] = [];
{
  await using mesh = await Counter.options().asActor();
  rows.push(await measure("in-process actor, `callOne`", () => mesh.noop.callOne(), 20_000));
}
{
  await using svc = await Counter.options({ maxConcurrency: 64, healthCheckIntervalMs: 0 }).asService();
  rows.push(await measure("in-process service, `route`", () => svc.noop.route(), 20_000));
}
{
  await using mesh = await Counter.options({ procs: 1 }).asActor();
  rows.push(await measure("child process actor, `callOne`", () => mesh.noop.callOne(), 2_000));
}
{
  await using svc = await Counter.options({ procs: 1, maxConcurrency: 64, healthCheckIntervalMs: 0 }).asService();
  rows.push(await measure("child process service, `route`", () => svc.noop.route(), 2_000));
}
if (spawnSync("nats-server", ["--version"]).status === 0) {
  const server = spawn("nats-server", ["-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve) => {
    let log = "";
    const onData = (d: Buffer) => {
      log += d;
      const m = /Listening for client connections on ([\d.]+:\d+)/.exec(log);
      if (m) resolve(`nats://${m[1]}`);
    };
    server.stdout!.on("data", onData);
    server.stderr!.on("data", onData);
  });
  const agent = await runHostAgent({ servers: url, host: "bench" });
  const cluster = await NatsCluster.connect({ servers: url });
  const mesh = await Counter.options({ cluster, procs: 1 }).asActor();
  rows.push(await measure("other host via NATS + agent (same machine), `callOne`", () => mesh.noop.callOne(), 1_000));
  await mesh.shutdown();
  await cluster.close();
  await agent.close();
  server.kill();
}
console.log(`# ${cpus()[0]?.model ?? "cpu"}, ${availableParallelism()} cores, node ${process.version}`);
console.log("| path | round trip, µs (1 in flight) | calls/s (64 in flight) |");
console.log("|---|---|---|");
for (const r of rows) console.log(r);
