/**
 * `src/store`: the versioned weight store (TorchStore's role). One `WeightStore` interface, three
 * backends: in-process (zero copy), shared memory on one host (one copy each way, through
 * /dev/shm), and TCP between hosts (streamed between tensor memory and the socket, optional
 * CRC-32); plus `C10dWeightBroadcaster` (a Gloo broadcast, not a store). Control messages carry
 * handles only.
 *
 * Trainer (publisher):
 * ```ts
 * const store = SharedMemoryStore.create({ name: "run42" });        // or await TcpStoreClient.connect(addr)
 * const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
 * await versions.publish(step, model.stateDict());                 // atomic; old versions dropped
 * await generator.updateWeights.fanout(step);                      // a control message: just the number
 * ```
 * Generator (another process; got `store.root` in its config):
 * ```ts
 * const versions = new VersionedStore(SharedMemoryStore.open({ root }));
 * const syncer = new WeightSyncer({
 *   fetch: async (v, staging) => (await versions.get(v, { into: staging })).value,
 *   apply: (w) => copyStateDict(params, w),
 * });
 * // per request: await syncer.gate.run(() => engine.generate(...));
 * // updateWeights(v): await syncer.update(v);   (or prefetch(v) early, update(v) later)
 * ```
 */
export type { WeightStore, StateDict, StoreValue, GetOptions, TensorHandle, ValueManifest } from "./types.ts";
export { StoreError, UnknownKeyError, StoreArgumentError, IntoMismatchError, ChecksumError, StoreConnectionError, StaleManifestError } from "./errors.ts";
export { InProcessStore, type InProcessStoreOptions } from "./in-process-store.ts";
export { SharedMemoryStore, readManifest, readManifestAsync, type SharedMemoryStoreOptions, type ReadManifestOptions } from "./shared-memory-store.ts";
export { StoreServer, TcpStoreClient, DEFAULT_CHUNK_BYTES, type StoreAddress, type StoreServerOptions, type TcpStoreClientOptions } from "./tcp-store.ts";
export { StoreActor } from "./store-actor.ts";
export { C10dWeightBroadcaster, WeightBroadcastError, DEFAULT_BUCKET_BYTES, type C10dWeightBroadcastOptions } from "./c10d-weight-broadcast.ts";
export { VersionedStore, type VersionedStoreOptions, type VersionedValue } from "./versioned-store.ts";
export { VersionGate, type UpdateTiming } from "./version-gate.ts";
export { WeightSyncer, type WeightSyncerOptions, type SyncTiming } from "./weight-syncer.ts";
export { copyStateDict } from "./copy-state-dict.ts";
export { crc32 } from "./crc32.ts";
export { sweepDeadStores, readOwner, type SweepOptions, type SweepResult, type StoreOwner } from "./shm-owner.ts";
