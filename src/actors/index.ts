/**
 * Public list of the actor runtime. Knows nothing about tensors or RL.
 *
 * ```ts
 * export class Counter extends Actor {
 *   static module = import.meta.url;          // lets child processes / other hosts load the class
 *   constructor(private readonly start = 0) { super(); }   // plain config only
 *   override async setup() {}                 // heavy init; failures reach the launcher
 *   @endpoint async incr(by = 1): Promise<number> { ... }
 * }
 * const mesh = await Counter.options({ procs: 2 }).asActor(0);   // 2 OS processes
 * const values: number[] = await mesh.incr.call(1);
 * const svc = await Counter.options({ procs: 1, numReplicas: 2 }).asService(0);
 * await svc.incr.route(1);
 * await svc.session(async () => { await svc.incr.route(1); await svc.incr.route(1); }); // sticky
 * ```
 */
export { Actor } from "./actor.ts";
export { endpoint, type ActorClass, type ActorLike } from "./endpoint.ts";
export type { ActorContext } from "./actor-context.ts";
export { Launcher, type LaunchOptions, type PlacementOptions } from "./launcher.ts";
export type { ActorEndpoint, ActorMesh, ActorMeshControl, SupervisionEvent, EndpointKeys, EndpointArgs, EndpointResult } from "./mesh.ts";
export type { Service, ServiceControl, ServiceEndpoint, ServiceOptions, ReplicaState, ReplicaStatus, RestartedReplica } from "./service-interface.ts";
export {
  ActorError,
  ActorDiedError,
  ActorOptionsError,
  ActorSetupError,
  InsufficientResourcesError,
  HostsUnavailableError,
  ClusterError,
  SerializationError,
  ServiceUnavailableError,
  UnknownEndpointError,
} from "./errors.ts";
export { Provisioner, detectGpus, getDefaultProvisioner, setDefaultProvisioner, type HostInfo, type ProvisionerOptions } from "./provisioner.ts";
/**
 * @deprecated Metrics live in `torchforge/observability` (`src/observability/index.ts`); these
 * re-exports only keep old `torchforge/actors` imports working and will be removed.
 */
export { recordMetric, MetricError, type Reduce, type MetricValue } from "../observability/metrics.ts";
/** @deprecated Import from `torchforge/observability`. */
export { MetricLogger, ConsoleBackend, MemoryBackend, type MetricBackend, type MetricLoggerOptions } from "../observability/metric-logger.ts";
export { NatsCluster, type NatsClusterOptions } from "./nats-cluster.ts";
export { runHostAgent, HOST_NAME, type HostAgent, type HostAgentOptions } from "./host-agent.ts";
export { OWNER_PID_ENV, beginShutdown, isShuttingDown, killAllChildren, liveChildPids } from "./process-registry.ts";
