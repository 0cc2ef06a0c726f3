/**
 * Where the policy generator runs, behind one interface: `colocated` (an engine in this process
 * sharing the trainer's parameter tensors, so a weight sync only bumps the version) or `separate`
 * (a service of generator replicas in child processes that load each published version from the
 * shared-memory store). The GRPO loop calls `generate`, `sync` and `close` and never asks which.
 */
import { GenerationEngine } from "../../src/generation/index.ts";
import type { CausalLM, Tokenizer } from "../../src/models/index.ts";
import type { BatchGenerator } from "../../src/rollout/index.ts";
import { SharedMemoryStore, VersionedStore } from "../../src/store/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { ModelSpec } from "../shared/resolve-model.ts";
import { GeneratorActor } from "./generator-actor.ts";

export interface PolicyGenerator extends BatchGenerator {
  /** Concurrent `generate` calls that make progress (replicas); rollout loops size themselves by it. */
  readonly parallelism: number;
  /** Runs rollouts while the trainer steps (separate processes) rather than between steps. */
  readonly concurrent: boolean;
  /** Makes `version` (the trainer's current weights) the generator's. */
  sync(version: number): Promise<void>;
  close(): Promise<void>;
  /** Each replica's weight version, |w| checksum and pid (separate placement). */
  state?(): Promise<{ versions: number[]; checksums: number[]; pids: number[] }>;
}

export interface StartGeneratorOptions {
  modelSpec: ModelSpec;
  maxBatchSize: number;
  maxSeqLen: number;
  policy: CausalLM;
  tokenizer: Tokenizer;
}

export async function startGenerator(config: GrpoConfig, o: StartGeneratorOptions): Promise<PolicyGenerator> {
  const spec = config.services.generator;
  if (config.placement === "colocated") {
    const engine = new GenerationEngine({
      model: o.policy,
      tokenizer: o.tokenizer,
      maxBatchSize: o.maxBatchSize,
      maxSeqLen: o.maxSeqLen,
      packWeights: spec.packWeights,
    });
    return {
      parallelism: 1,
      concurrent: false,
      generate: (requests, sampling) => engine.generate(requests, sampling),
      sync: async (version) => void (engine.generatorVersion = version), // shared tensors: already live
      close: async () => engine.dispose(),
    };
  }
  // The name carries the owner pid and a run stamp, for people reading /dev/shm; reclaiming a dead
  // run's leftovers goes by the owner file (see src/store/shm-owner.ts).
  const store = SharedMemoryStore.create({ name: `grpo-${process.pid}-${Date.now().toString(36)}` });
  const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
  // One libtorch thread per generator process: several processes spinning 2 threads each on a
  // small machine would fight over the cores.
  const service = await GeneratorActor.options({ procs: 1, numReplicas: spec.numReplicas, env: { TORCHFORGE_NUM_THREADS: "1" } }).asService(
    { model: o.modelSpec, maxBatchSize: o.maxBatchSize, maxSeqLen: o.maxSeqLen, packWeights: spec.packWeights, storeRoot: store.root },
  );
  return {
    parallelism: spec.numReplicas,
    concurrent: true,
    generate: (requests, sampling) => service.generate.route(requests, sampling),
    sync: async (version) => {
      await versions.publish(version, o.policy.stateDict());
      await service.updateWeights.fanout(version);
    },
    close: async () => {
      await service.shutdown();
      await store.close();
    },
    state: async () => ({
      versions: await service.version.fanout(),
      checksums: await service.weightsChecksum.fanout(),
      pids: await service.pid.fanout(),
    }),
  };
}
