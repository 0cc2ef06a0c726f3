/**
 * Where the policy generator runs, behind one interface: `colocated` (an engine in this process
 * sharing the trainer's parameter tensors, so a weight sync only bumps the version) or `separate`
 * (a service of generator replicas in child processes that load each published version from the
 * shared-memory store; or, with `services.generator.hosts`, in processes that host agents start
 * on the named hosts — replica i on hosts[i % length] — loading versions from a TCP store served
 * by the controller, or, with `cluster.weight_sync: c10d` (the default), broadcasting each version
 * over a Gloo group of the controller and every replica). The GRPO loop calls `generate`, `sync` and `close` and never asks which.
 *
 * Separate replicas that die are restarted by the service; a restarted one loads the newest
 * published version before it takes work (`onRestart`), so it never serves its starting weights
 * as version 0. Every generator endpoint is idempotent (`generate` samples afresh, `updateWeights`
 * sets a version, the rest read), so calls in flight on a dead replica are retried.
 */
import { GenerationEngine } from "../../src/generation/index.ts";
import type { CausalLM, LoraAdapters, Tokenizer } from "../../src/models/index.ts";
import type { BatchGenerator } from "../../src/rollout/index.ts";
import type { NatsCluster, Service } from "../../src/actors/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import type { ModelSpec } from "../shared/resolve-model.ts";
import { GeneratorActor } from "./generator-actor.ts";
import { loraConfigFrom } from "../shared/lora.ts";
import { sharedMemoryPolicyStore, tcpPolicyStore } from "./cluster.ts";
import { C10dWeightSync, type WeightGroupMembers } from "./c10d-weight-sync.ts";
import { GrpoConfigError } from "./errors.ts";

export interface PolicyGenerator extends BatchGenerator {
  /** Concurrent `generate` calls that make progress (replicas); rollout loops size themselves by it. */
  readonly parallelism: number;
  /** Runs rollouts while the trainer steps (separate processes) rather than between steps. */
  readonly concurrent: boolean;
  /** Makes `version` (the trainer's current weights) the generator's. */
  sync(version: number): Promise<void>;
  close(): Promise<void>;
  /** Each replica's weight version, |w| checksum, pid and host (separate placement). */
  state?(): Promise<{ versions: number[]; checksums: number[]; pids: number[]; hosts: string[] }>;
  /** Separate placement: the weight store the replicas read (TCP as soon as one runs on another host). */
  readonly storeKind?: "shared-memory" | "tcp" | "c10d";
  /** One line on the replicas (state, restarts, pids) for errors; undefined in colocated placement. */
  describe?(): string;
}

export interface StartGeneratorOptions {
  modelSpec: ModelSpec;
  maxBatchSize: number;
  maxSeqLen: number;
  policy: CausalLM;
  tokenizer: Tokenizer;
  /** Restart and failure lines of the generator replicas. @default console.error */
  log?: (line: string) => void;
  /** The policy's LoRA adapters (config `lora`): only they are published to separate generators. */
  lora?: LoraAdapters | null;
  /** The joined cluster when `services.generator.hosts` names hosts (see `cluster.ts`). */
  cluster?: NatsCluster;
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
  const remote = spec.hosts.length > 0;
  if (remote && !o.cluster) throw new GrpoConfigError("services.generator.hosts needs a joined cluster (top-level cluster section)");
  // Remote replicas: a c10d broadcast (cluster.weight_sync, the default) or the controller's TCP store.
  const c10d = remote && config.cluster!.weightSync === "c10d" ? await C10dWeightSync.listen(config) : undefined;
  const store = c10d ?? (remote ? await tcpPolicyStore(config.cluster!) : sharedMemoryPolicyStore());
  const trained = () => (o.lora ?? o.policy).stateDict();
  /** The newest version in the store that every replica must serve (set once it is published). */
  let published: number | undefined;
  /** Where each replica runs now (remote placement: a replica whose host died restarts on the next listed one). */
  let replicaHosts: string[] = [];
  const log = o.log ?? ((line: string) => console.error(line));
  let service: Service<GeneratorActor>;
  try {
    service = await GeneratorActor.options({
      procs: 1,
      numReplicas: spec.numReplicas,
      ...(remote ? { cluster: o.cluster, hostNames: spec.hosts } : {}),
      // One libtorch thread per generator process on this host: several processes spinning 2
      // threads each on a small machine would fight over the cores. On other hosts the agent's
      // environment decides (libtorch's default: every core there).
      env: remote ? {} : { TORCHFORGE_NUM_THREADS: "1" },
      // joinWeightGroup and receiveWeights are not retried: a restarted replica is in no group yet.
      idempotent: ["generate", "updateWeights", "version", "pid", "host", "weightsChecksum"],
      restartLimit: spec.restartLimit ?? Infinity,
      // A restart loads a whole model: let calls wait for it as long as the run waits for episodes.
      unavailableTimeoutMs: config.grpo.progressTimeoutS * 1000,
      log: o.log,
      onRestart: async (replica) => {
        if (remote) {
          const host = (await replica.call("host")) as string;
          const was = replicaHosts[replica.index];
          if (was !== undefined && was !== host) log(`generator replica ${replica.index} moved from host ${was} (gone) to host ${host}`);
          replicaHosts[replica.index] = host;
        }
        if (c10d) {
          // The group's membership changed: form a new one with every live replica and this one,
          // sending it the current weights before it takes work.
          if (published === undefined) return c10d.invalidate();
          const self: WeightGroupMembers = {
            count: () => 1,
            join: (args) => replica.call("joinWeightGroup", args),
            receive: (generation) => replica.call("receiveWeights", generation),
          };
          return c10d.send(published, trained(), [healthy(), self], { rebuild: true });
        }
        // Load the newest published version from the store; if one was published meanwhile, that
        // too (the fanout of a version published while this replica is down does not reach it).
        for (let loaded: number | undefined; published !== loaded;) {
          const target: number = published!;
          await replica.call("updateWeights", target);
          loaded = target;
        }
      },
    }).asService({
      model: o.modelSpec,
      maxBatchSize: o.maxBatchSize,
      maxSeqLen: o.maxSeqLen,
      packWeights: spec.packWeights,
      ...(c10d ? {} : (store as Exclude<typeof store, C10dWeightSync>).location),
      lora: o.lora && config.lora ? { config: loraConfigFrom(config.lora), generator: config.lora.generator } : null,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  if (remote) replicaHosts = await service.host.fanout();
  /** The routable replicas, as members of the c10d weight group. */
  function healthy(): WeightGroupMembers {
    return {
      count: () => service.replicas().filter((r) => r.state === "healthy").length,
      join: (args) => service.joinWeightGroup.fanout(args),
      receive: (generation) => service.receiveWeights.fanout(generation),
    };
  }
  const restartCount = () => service.replicas().reduce((n, r) => n + r.restarts, 0);
  return {
    parallelism: spec.numReplicas,
    concurrent: true,
    storeKind: store.kind,
    generate: (requests, sampling) => service.generate.route(requests, sampling),
    sync: async (version) => {
      if (c10d) {
        published = version;
        // A replica dying mid-transfer fails it; its restart hook then sends it this version
        // through a new group, and the survivors get it again here.
        const deadline = Date.now() + config.grpo.progressTimeoutS * 1000;
        for (let attempt = 1; ; attempt++) {
          try {
            return await c10d.send(version, trained(), [healthy()]);
          } catch (err) {
            if (attempt >= 3 || Date.now() > deadline) throw err;
            log(`generator weight sync of version ${version} failed (attempt ${attempt}), forming a new group: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 200));
            while (service.replicas().some((r) => r.state === "recovering") && Date.now() < deadline)
              await new Promise((r) => setTimeout(r, 50));
          }
        }
      }
      const versions = (store as Exclude<typeof store, C10dWeightSync>).versions;
      // With LoRA only the adapters travel; each generator holds its own copy of the frozen base.
      await versions.publish(version, (o.lora ?? o.policy).stateDict());
      published = version;
      // A replica whose restart hook checked `published` just before this line becomes routable a
      // few microtasks later, after the fanout chose its replicas: seeing its restart counted once
      // the fanout is back (an IPC round trip later), call it again.
      for (let restarts = restartCount(); ;) {
        await service.updateWeights.fanout(version);
        if (restartCount() === restarts) return;
        restarts = restartCount();
      }
    },
    close: async () => {
      await service.shutdown();
      await store.close();
    },
    describe: () =>
      service
        .replicas()
        .map((r) => {
          const on = remote ? ` on host ${replicaHosts[r.index] ?? "?"}` : "";
          return `replica ${r.index}${on} ${r.state} (${r.restarts} restarts, pid ${r.pids.join("/") || "none"})`;
        })
        .join(", "),
    state: async () => {
      // A replica being restarted (e.g. on another host) is part of the answer once it is back.
      const deadline = Date.now() + config.grpo.progressTimeoutS * 1000;
      while (service.replicas().some((r) => r.state === "recovering") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return {
        versions: await service.version.fanout(),
        checksums: await service.weightsChecksum.fanout(),
        pids: await service.pid.fanout(),
        hosts: await service.host.fanout(),
      };
    },
  };
}
