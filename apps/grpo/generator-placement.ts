/**
 * Where the policy generator runs, behind one interface: `colocated` (an engine in this process
 * sharing the trainer's parameter tensors, so a weight sync only bumps the version) or `separate`
 * (a service of generator replicas in child processes that load each published version from the
 * shared-memory store). The GRPO loop calls `generate`, `sync` and `close` and never asks which.
 */
import { GenerationEngine } from "../../src/generation/index.ts";
import type { CausalLM, LoraAdapters, Tokenizer } from "../../src/models/index.ts";
import type { BatchGenerator } from "../../src/rollout/index.ts";
import { SharedMemoryStore, VersionedStore } from "../../src/store/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { ModelSpec } from "../shared/resolve-model.ts";
import { GeneratorActor } from "./generator-actor.ts";
import { loraConfigFrom } from "../shared/lora.ts";

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
  /** The policy's LoRA adapters (config `lora`): only they are published to separate generators. */
  lora?: LoraAdapters | null;
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
    const lora = o.lora ?? null;
    // Merged mode shares the trainer's tensors, so it merges for the duration of each generate
    // call (rollouts and training alternate here) and restores the exact base afterwards.
    let merges = 0;
    const generate: PolicyGenerator["generate"] =
      lora && config.lora?.generator === "merged"
        ? async (requests, sampling) => {
            if (merges++ === 0) lora.merge();
            try {
              return await engine.generate(requests, sampling);
            } finally {
              if (--merges === 0) lora.unmerge();
            }
          }
        : (requests, sampling) => engine.generate(requests, sampling);
    return {
      parallelism: 1,
      concurrent: false,
      generate,
      sync: async (version) => void (engine.generatorVersion = version), // shared tensors: already live
      close: async () => engine.dispose(),
    };
  }
  const store = SharedMemoryStore.create({ name: `grpo-${process.pid}` });
  const versions = new VersionedStore(store, { prefix: "policy", keepLast: 2 });
  // One libtorch thread per generator process: several processes spinning 2 threads each on a
  // small machine would fight over the cores.
  const service = await GeneratorActor.options({ procs: 1, numReplicas: spec.numReplicas, env: { TORCHFORGE_NUM_THREADS: "1" } }).asService(
    {
      model: o.modelSpec,
      maxBatchSize: o.maxBatchSize,
      maxSeqLen: o.maxSeqLen,
      packWeights: spec.packWeights,
      storeRoot: store.root,
      lora: o.lora && config.lora ? { config: loraConfigFrom(config.lora), generator: config.lora.generator } : null,
    },
  );
  return {
    parallelism: spec.numReplicas,
    concurrent: true,
    generate: (requests, sampling) => service.generate.route(requests, sampling),
    sync: async (version) => {
      // With LoRA only the adapters travel; each generator holds its own copy of the frozen base.
      await versions.publish(version, (o.lora ?? o.policy).stateDict());
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
