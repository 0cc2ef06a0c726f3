/** Public list of the actor runtime. Knows nothing about tensors or RL. */
export { Actor, endpoint, type ActorClass, type ActorContext } from "./actor.ts";
export { Launcher, type LaunchOptions, type PlacementOptions } from "./launcher.ts";
export type { ActorEndpoint, ActorMesh, ActorMeshControl, SupervisionEvent, EndpointKeys, EndpointArgs, EndpointResult } from "./mesh.ts";
export type { Service, ServiceControl, ServiceEndpoint, ServiceOptions, ReplicaState, ReplicaStatus } from "./service.ts";
export {
  ActorError,
  ActorDiedError,
  ActorOptionsError,
  ActorSetupError,
  InsufficientResourcesError,
  SerializationError,
  ServiceUnavailableError,
  UnknownEndpointError,
} from "./errors.ts";
export { Provisioner, detectGpus, getDefaultProvisioner, setDefaultProvisioner, type HostInfo, type ProvisionerOptions } from "./provisioner.ts";
export { recordMetric, MetricError, type Reduce, type MetricValue } from "./metrics.ts";
export { MetricLogger, ConsoleBackend, MemoryBackend, type MetricBackend, type MetricLoggerOptions } from "./metric-logger.ts";
export { NatsCluster, type NatsClusterOptions } from "./nats-cluster.ts";
export { runHostAgent, type HostAgent, type HostAgentOptions } from "./host-agent.ts";
export { liveChildPids } from "./process-registry.ts";
