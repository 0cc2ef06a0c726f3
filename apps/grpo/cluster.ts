/**
 * Multi-host placement for the GRPO app: joining the cluster named by the `cluster` section, and
 * the weight store that generator replicas read: shared memory (/dev/shm) when every replica runs
 * on this host, a TCP store served by the controller as soon as one replica runs on another host
 * (/dev/shm is not reachable from there).
 */
import { hostname } from "node:os";
import { HostsUnavailableError, NatsCluster } from "../../src/actors/index.ts";
import { SharedMemoryStore, StoreServer, VersionedStore, type StoreAddress } from "../../src/store/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import { GrpoConfigError } from "./errors.ts";

/** The services that may run on other hosts, with the config key that names their hosts. */
function placedRoles(config: GrpoConfig): { key: string; hosts: string[] }[] {
  const s = config.services;
  return [
    { key: "services.generator.hosts", hosts: config.placement === "separate" ? s.generator.hosts : [] },
    { key: "services.ref_model.hosts", hosts: s.refModel?.hosts ?? [] },
  ].filter((r) => r.hosts.length > 0);
}

/**
 * Connects to the cluster and waits (`cluster.timeout_s`) until every host agent named in
 * `services.*.hosts` is alive; undefined when no service names hosts. Errors name the config key,
 * the missing agents and the live ones.
 */
export async function joinCluster(config: GrpoConfig, log: (line: string) => void): Promise<NatsCluster | undefined> {
  const roles = placedRoles(config);
  if (roles.length === 0) return undefined;
  const c = config.cluster;
  if (!c) throw new GrpoConfigError(`${roles[0]!.key} needs a top-level cluster section (cluster: { nats: nats://HOST:4222 })`);
  const timeoutMs = c.timeoutS * 1000;
  const cluster = await NatsCluster.connect({ servers: c.nats, minHosts: 0, timeoutMs, hostTimeoutMs: c.hostTimeoutS * 1000 });
  const named = [...new Set(roles.flatMap((r) => r.hosts))];
  try {
    await cluster.waitForHosts(named, timeoutMs);
  } catch (err) {
    await cluster.close();
    if (!(err instanceof HostsUnavailableError)) throw err;
    const live = cluster.hosts();
    const role = roles.find((r) => r.hosts.some((h) => !live.includes(h)))!;
    const missing = role.hosts.filter((h) => !live.includes(h));
    throw new GrpoConfigError(
      `${role.key}: no host agent named ${missing.map((h) => `'${h}'`).join(", ")} answered within ${c.timeoutS} s ` +
        `(known agents: ${live.join(", ") || "none"}); ` +
        `start one there with \`forge agent --nats ${[c.nats].flat()[0]} --host ${missing[0]}\``,
      { cause: err },
    );
  }
  log(`cluster: joined ${[c.nats].flat().join(", ")}; host agents ${cluster.hosts().join(", ")}`);
  return cluster;
}

const isLoopback = (host: string) => /^(127\.|localhost$|::1$|\[::1\]$)/.test(host);

/** Where the controller's TCP weight store listens, and the address other hosts use (see `cluster.store_*`). */
export function storeEndpoints(c: NonNullable<GrpoConfig["cluster"]>): { bind: string; advertise: string; port: number } {
  const natsLoopback = [c.nats].flat().every((u) => {
    try {
      return isLoopback(new URL(u.includes("://") ? u : `nats://${u}`).hostname);
    } catch {
      return false;
    }
  });
  const bind = c.storeBind ?? (natsLoopback ? "127.0.0.1" : "0.0.0.0");
  const advertise = c.storeHost ?? (isLoopback(bind) ? "127.0.0.1" : bind === "0.0.0.0" || bind === "::" ? hostname() : bind);
  return { bind, advertise, port: c.storePort };
}

/** The versioned policy weights the generator replicas load, and how a replica opens them. */
export interface PolicyStore {
  readonly versions: VersionedStore;
  readonly kind: "shared-memory" | "tcp";
  /** Passed to each replica: `storeRoot` (shared memory) or `storeAddress` (TCP). */
  readonly location: { storeRoot: string } | { storeAddress: StoreAddress };
  close(): Promise<void>;
}

export function sharedMemoryPolicyStore(): PolicyStore {
  // The name carries the owner pid and a run stamp, for people reading /dev/shm; reclaiming a dead
  // run's leftovers goes by the owner file (see src/store/shm-owner.ts).
  const store = SharedMemoryStore.create({ name: `grpo-${process.pid}-${Date.now().toString(36)}` });
  return {
    versions: new VersionedStore(store, { prefix: "policy", keepLast: 2 }),
    kind: "shared-memory",
    location: { storeRoot: store.root },
    close: () => store.close(),
  };
}

/**
 * A TCP store served from the controller process. The server is a weight store for this process:
 * publishing copies a snapshot into its own (recycled) tensors, so the trainer goes on writing its
 * parameters while replicas stream a version out.
 */
export async function tcpPolicyStore(c: NonNullable<GrpoConfig["cluster"]>): Promise<PolicyStore> {
  const { bind, advertise, port } = storeEndpoints(c);
  let server: StoreServer;
  try {
    server = await StoreServer.listen({ host: bind, port });
  } catch (err) {
    throw new GrpoConfigError(`cluster.store_bind/store_port: cannot listen on ${bind}:${port} (${(err as Error).message})`, {
      cause: err,
    });
  }
  return {
    versions: new VersionedStore(server, { prefix: "policy", keepLast: 2 }),
    kind: "tcp",
    // The address carries the server's access token (it is bound beyond the loopback): only our replicas get it.
    location: { storeAddress: { ...server.address, host: advertise } },
    close: () => server.close(),
  };
}
