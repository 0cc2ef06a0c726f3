/**
 * `X.options({...})` returns a `Launcher`; `.asActor(...args)` starts an actor mesh and
 * `.asService(...args)` a replicated service. Placement is configuration: `procs: 0` (default)
 * runs the actor in the controller process, `procs: n` in n forked OS processes on this host.
 */
import { hostname } from "node:os";
import type { ActorContext } from "./actor-context.ts";
import { type ActorClass, type ActorLike, endpointNames } from "./endpoint.ts";
import { ChildTransport } from "./child-transport.ts";
import { ActorOptionsError, HostsUnavailableError, InsufficientResourcesError, SerializationError } from "./errors.ts";
import { LocalTransport } from "./local-transport.ts";
import { type NatsCluster, NatsTransport } from "./nats-cluster.ts";
import { type ActorMesh, MeshImpl, RESERVED_NAMES } from "./mesh.ts";
import { type Provisioner, getDefaultProvisioner } from "./provisioner.ts";
import { ServiceImpl } from "./service.ts";
import type { Service, ServiceOptions } from "./service-interface.ts";
import type { RankSpec, RankTransport } from "./transport.ts";

/** Where and how an actor's ranks run. */
export interface PlacementOptions {
  /** OS processes per mesh (or per service replica); 0 runs one rank in the controller. @default 0 */
  procs?: number;
  /** Give each process one GPU (via CUDA_VISIBLE_DEVICES). @default false */
  withGpus?: boolean;
  /** Hosts to spread over (needs `cluster`); each runs `procs` processes. @default 1 */
  hosts?: number;
  /** Run the ranks on host agents reached through NATS instead of on this host. @default undefined */
  cluster?: NatsCluster;
  /**
   * Named host agents to place on (needs `cluster`), instead of any live ones: a mesh of `hosts`
   * hosts for service replica r starts at `hostNames[r * hosts % length]` (replica i on
   * hostNames[i % length] with one host each), skipping names that are not alive, so a replica
   * whose host died restarts on the next listed live host. @default all live hosts
   */
  hostNames?: string[];
  /** Name used in errors, logs and metrics. @default the class name */
  meshName?: string;
  /** Extra environment variables for child processes. @default {} */
  env?: Record<string, string>;
  /** Time allowed for loading, constructing and `setup()`. @default 60000 */
  setupTimeoutMs?: number;
  /** Where GPUs come from. @default getDefaultProvisioner() */
  provisioner?: Provisioner;
}

export type LaunchOptions = PlacementOptions & ServiceOptions;

function checkInt(option: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new ActorOptionsError(option, `must be an integer >= ${min}, got ${value}`);
  }
}

function validate(o: LaunchOptions): void {
  checkInt("procs", o.procs, 0);
  checkInt("numReplicas", o.numReplicas, 1);
  checkInt("hosts", o.hosts, 1);
  checkInt("maxConcurrency", o.maxConcurrency, 1);
  checkInt("retries", o.retries, 0);
  checkInt("maxRestarts", o.maxRestarts, 0);
  if (o.restartLimit !== undefined && o.restartLimit !== Infinity) checkInt("restartLimit", o.restartLimit, 0);
  if ((o.hosts ?? 1) > 1 && o.cluster === undefined) {
    throw new ActorOptionsError("hosts", "placement on more than one host needs `cluster: await NatsCluster.connect({ servers })`");
  }
  if (o.hostNames !== undefined && o.cluster === undefined) {
    throw new ActorOptionsError("hostNames", "placement on named hosts needs `cluster: await NatsCluster.connect({ servers })`");
  }
  if (o.hostNames !== undefined && o.hostNames.length === 0) throw new ActorOptionsError("hostNames", "must name at least one host agent");
  if (o.cluster !== undefined && (o.procs ?? 0) < 1) throw new ActorOptionsError("procs", "placement on a cluster needs procs >= 1 (processes per host)");
}

const exportNames = new WeakMap<ActorClass, string>();

/** Find which export of `cls.module` is `cls`, so a child process can load it. */
async function locate(cls: ActorClass): Promise<{ module: string; exportName: string }> {
  const module = cls.module;
  if (typeof module !== "string") {
    throw new ActorOptionsError("procs", `${cls.name} must declare \`static module = import.meta.url\` to run in child processes`);
  }
  let exportName = exportNames.get(cls);
  if (exportName === undefined) {
    const mod = (await import(module)) as Record<string, unknown>;
    exportName = Object.keys(mod).find((k) => mod[k] === cls);
    if (exportName === undefined) {
      throw new ActorOptionsError("procs", `${cls.name}.module is ${module}, but that module does not export ${cls.name}; export the class from the module it names`);
    }
    exportNames.set(cls, exportName);
  }
  return { module, exportName };
}

/** Start one mesh: every rank constructed and set up, or none (and an `ActorSetupError`). */
export async function spawnMesh(
  cls: ActorClass,
  args: unknown[],
  options: PlacementOptions & { replica?: number },
): Promise<MeshImpl> {
  const actorName = options.meshName ?? cls.name;
  const endpoints = endpointNames(cls);
  const clash = endpoints.find((e) => (RESERVED_NAMES as readonly string[]).includes(e));
  if (clash) throw new ActorOptionsError("endpoint", `${actorName}.${clash} clashes with a handle method; rename the endpoint`);
  const procs = options.procs ?? 0;
  const cluster = options.cluster;
  const placement: ActorContext["placement"] = cluster ? "remote" : procs > 0 ? "child" : "local";
  let hosts = [hostname()];
  if (cluster) {
    const want = options.hosts ?? 1;
    const live = new Set(cluster.hosts());
    const named = options.hostNames;
    // Rotate by replica so a service's replicas spread over the hosts; named hosts keep their
    // order (replica i prefers hostNames[i % length]) and dead ones are skipped.
    const candidates = named ? Array.from({ length: named.length }, (_, i) => named[(((options.replica ?? 0) * want) + i) % named.length]!) : [...live];
    const alive = [...new Set(candidates.filter((h) => live.has(h)))];
    if (want > alive.length) {
      if (named) throw new HostsUnavailableError(named, [...live].sort(), want);
      throw new InsufficientResourcesError("host", want, alive.length);
    }
    const offset = named ? 0 : ((options.replica ?? 0) * want) % alive.length;
    hosts = Array.from({ length: want }, (_, i) => alive[(offset + i) % alive.length]!);
  }
  const size = cluster ? hosts.length * procs : Math.max(procs, 1);
  const located = placement !== "local" ? await locate(cls) : undefined;
  if (placement !== "local") {
    args.forEach((a, i) => {
      try {
        structuredClone(a);
      } catch (err) {
        throw new SerializationError(actorName, "constructor", `argument ${i}`, { cause: err });
      }
    });
  }
  const provisioner = options.provisioner ?? getDefaultProvisioner();
  // Remote ranks get GPUs from their host agent's provisioner.
  const gpus = options.withGpus && !cluster ? provisioner.allocateGpus(size) : [];
  const ranks: RankTransport[] = [];
  for (let rank = 0; rank < size; rank++) {
    const mine = gpus.length > 0 ? [gpus[rank]!] : [];
    const spec: RankSpec = {
      cls,
      ...located,
      args,
      context: { actorName, rank, size, replica: options.replica ?? 0, gpus: mine, placement, host: hosts[Math.floor(rank / Math.max(procs, 1))]! },
      env: { ...options.env, ...(mine.length > 0 ? { CUDA_VISIBLE_DEVICES: mine.join(",") } : {}) },
      setupTimeoutMs: options.setupTimeoutMs ?? 60_000,
    };
    if (cluster) ranks.push(new NatsTransport({ ...spec, withGpus: options.withGpus ?? false }, cluster, spec.context.host));
    else ranks.push(placement === "child" ? new ChildTransport(spec) : new LocalTransport(spec));
  }
  const started = await Promise.allSettled(ranks.map((r) => r.start()));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(ranks.map((r) => r.kill()));
    provisioner.releaseGpus(gpus);
    throw failed.reason;
  }
  return new MeshImpl(actorName, ranks, endpoints, () => provisioner.releaseGpus(gpus));
}

export class Launcher<T extends ActorLike, A extends unknown[]> {
  constructor(
    private readonly cls: ActorClass<T, A>,
    readonly options: LaunchOptions = {},
  ) {
    validate(options);
  }

  /** Start an actor mesh of `procs` ranks (1 in-process rank when `procs` is 0). */
  async asActor(...args: A): Promise<ActorMesh<T>> {
    const mesh = await spawnMesh(this.cls, args, this.options);
    return mesh.handle<T>();
  }

  /** Start a service of `numReplicas` replicas, each a mesh of `procs` ranks. */
  async asService(...args: A): Promise<Service<T>> {
    const service = new ServiceImpl(
      this.options.meshName ?? this.cls.name,
      endpointNames(this.cls),
      (replica) => spawnMesh(this.cls, args, { ...this.options, replica }),
      this.options,
    );
    await service.start();
    return service.handle<T>();
  }
}
