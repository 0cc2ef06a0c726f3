/**
 * `forge agent --nats nats://HOST:4222 [--host NAME]` — makes this machine a host of a multi-host
 * run: a host agent joins the NATS server, announces itself under NAME (default: this machine's
 * short host name), and starts actor processes here for controllers that place work on NAME
 * (`services.generator.hosts: [NAME]`). It runs until Ctrl-C / SIGTERM (killing the actor
 * processes it started) or until the NATS connection closes for good.
 *
 * The controller's checkout (the apps' source files) and model files must be at the same paths
 * on this machine: actor processes load the actor's module and the model by path.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { HOST_NAME, runHostAgent } from "../../src/actors/index.ts";
import { EXIT_CODES } from "../../src/util/exit-codes.ts";
import { runIfMain } from "../../src/util/run-if-main.ts";

export const USAGE = `usage: forge agent --nats nats://HOST:4222 [--host NAME]

Runs a host agent: controllers reach it through the NATS server and start actor processes here
(config: cluster.nats: nats://HOST:4222 and services.generator.hosts: [NAME, ...]).
  --nats URL   the NATS server (comma-separated for several); start one with: nats-server -a 0.0.0.0 -p 4222
  --host NAME  this host's name in configs (letters, digits, '-', '_'); default: the short host name`;

/** The machine's host name as a NATS subject token ("node1.example.org" → "node1"). */
export function defaultHostName(): string {
  const short = hostname()
    .split(".")[0]!
    .replace(/[^A-Za-z0-9_-]/g, "-");
  return HOST_NAME.test(short) ? short : "localhost";
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { nats: { type: "string" }, host: { type: "string" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (e) {
    console.error(`forge agent: ${(e as Error).message}\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (values.help) {
    console.log(USAGE);
    return EXIT_CODES.ok;
  }
  if (!values.nats) {
    console.error(`forge agent: --nats is required (the NATS server's URL, e.g. nats://10.0.0.1:4222)\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const servers = values.nats
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const host = values.host ?? defaultHostName();
  let agent;
  try {
    agent = await runHostAgent({ servers, host });
  } catch (e) {
    console.error(`forge agent: ${(e as Error).message} (NATS server: ${servers.join(", ")})`);
    return EXIT_CODES.runtime;
  }
  console.log(
    `forge agent: host '${host}' ready on ${servers.join(", ")} (pid ${process.pid}); ` +
      `place work here with services.<role>.hosts: [${host}]`,
  );
  const stop = new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve(sig));
  });
  const why = await Promise.race([stop, agent.closed.then(() => "the NATS connection closed")]);
  await agent.close();
  console.log(`forge agent: host '${host}' stopped (${why}); its actor processes are gone`);
  return why.startsWith("SIG") ? EXIT_CODES.ok : EXIT_CODES.runtime;
}

runIfMain(import.meta.url, main);
