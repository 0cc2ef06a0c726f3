/**
 * Runs a host agent: `node --import tsx src/actors/host-agent-cli.ts --servers nats://HOST:4222 --host NAME`
 * (from an installed package: `node node_modules/torchforge/dist/src/actors/host-agent-cli.js …`).
 * Exits (killing its actor processes) on SIGINT/SIGTERM or when the NATS connection closes.
 */
import { parseArgs } from "node:util";
import { runHostAgent } from "./host-agent.ts";

const { values } = parseArgs({ options: { servers: { type: "string" }, host: { type: "string" } } });
if (!values.servers || !values.host) {
  console.error("usage: host-agent-cli.ts --servers nats://HOST:4222 --host NAME");
  process.exit(2);
}
const agent = await runHostAgent({ servers: values.servers, host: values.host });
console.log(JSON.stringify({ ready: agent.host, pid: process.pid }));
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => void agent.close().then(() => process.exit(0)));
}
