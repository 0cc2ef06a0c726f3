/**
 * The generator as an actor, for `placement: separate`: it runs in its own process (or several,
 * as service replicas, on this host or on others), loads the same starting weights as the
 * trainer, and takes new weights from the weight store by version number — the control message
 * carries only the number; the bytes go store → this process's parameter tensors (shared memory
 * on this host; streamed from the controller's TCP store on another) — or, with
 * `cluster.weight_sync: c10d`, by a Gloo broadcast from the controller straight into them
 * (`joinWeightGroup`, then `receiveWeights` while the controller publishes).
 */
import { Actor, endpoint } from "../../src/actors/index.ts";
import { distributed, torch, type Tensor } from "../../src/torch/index.ts";
import { GenerationEngine, type Completion, type SamplingParams } from "../../src/generation/index.ts";
import {
  C10dWeightBroadcaster,
  SharedMemoryStore,
  TcpStoreClient,
  VersionedStore,
  copyStateDict,
  type StateDict,
  type StoreAddress,
} from "../../src/store/index.ts";
import { applyLora, type CausalLM, type LoraAdapters, type LoraConfig } from "../../src/models/index.ts";
import type { nn } from "../../src/torch/index.ts";
import { resolveModel, type ModelSpec } from "../shared/resolve-model.ts";
import type { WeightGroupJoin } from "./c10d-weight-sync.ts";

export interface GeneratorActorConfig {
  model: ModelSpec;
  maxBatchSize: number;
  maxSeqLen: number;
  /** See `GenerationEngineOptions.packWeights`. @default false */
  packWeights?: boolean;
  /** `SharedMemoryStore.root` of the trainer's weight store (replicas on the controller's host). */
  storeRoot?: string;
  /** Address of the controller's TCP weight store (replicas on other hosts); wins over `storeRoot`. Neither: weights come by c10d. */
  storeAddress?: StoreAddress;
  /** Key prefix of the versioned weights. @default "policy" */
  prefix?: string;
  /**
   * LoRA: the base stays as loaded and only adapter weights come from the store, applied
   * unmerged or merged into the base once per version (`lora.generator`).
   */
  lora?: { config: LoraConfig; generator: "merged" | "unmerged" } | null;
}

export class GeneratorActor extends Actor {
  static module = import.meta.url;
  #model: CausalLM | null = null;
  #lora: LoraAdapters | null = null;
  #engine: GenerationEngine | null = null;
  #versions: VersionedStore | null = null;
  /** The c10d weight group this replica is in (`cluster.weight_sync: c10d`). */
  #weights: {
    generation: number;
    store: distributed.TCPStore;
    group: distributed.ProcessGroup;
    broadcaster: C10dWeightBroadcaster;
    staging: StateDict | null;
  } | null = null;
  // Weight loads must not land in the middle of a generation (the load writes the parameters
  // in place); the engine runs one generate at a time anyway, so one queue costs nothing.
  #queue: Promise<unknown> = Promise.resolve();

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  constructor(private readonly config: GeneratorActorConfig) {
    super();
  }

  override async setup(): Promise<void> {
    const { model, tokenizer } = resolveModel(this.config.model);
    this.#model = model;
    if (this.config.lora) this.#lora = applyLora(model, this.config.lora.config);
    this.#engine = new GenerationEngine({
      model,
      tokenizer,
      maxBatchSize: this.config.maxBatchSize,
      maxSeqLen: this.config.maxSeqLen,
      packWeights: this.config.packWeights ?? false,
    });
    const { storeAddress, storeRoot } = this.config;
    if (storeAddress || storeRoot) {
      const store = storeAddress ? await TcpStoreClient.connect(storeAddress) : SharedMemoryStore.open({ root: storeRoot! });
      this.#versions = new VersionedStore(store, { prefix: this.config.prefix ?? "policy" });
    }
  }

  @endpoint async generate(requests: { prompt: number[] }[], sampling: SamplingParams): Promise<Completion[]> {
    return this.#exclusive(() => this.#engine!.generate(requests, sampling));
  }

  /** Loads `version` straight into the parameters (between generate calls) and stamps it. */
  @endpoint async updateWeights(version: number): Promise<number> {
    return this.#exclusive(async () => {
      const lora = this.#lora;
      if (lora) {
        // Only the adapters travel: restore the exact base, load them, merge again if asked.
        lora.unmerge();
        await this.#loadInto(version, lora.stateDict());
        if (this.config.lora!.generator === "merged") lora.merge();
      } else {
        await this.#loadInto(version, this.#model!.stateDict());
      }
      this.#engine!.generatorVersion = version;
      return version;
    });
  }

  /**
   * Joins generation `prefix` of the controller's c10d weight group (leaving the previous one):
   * counts itself in at the rendezvous (its rank is its arrival order) and blocks until the
   * controller and every other replica are in. The same generation twice is a no-op.
   */
  @endpoint async joinWeightGroup(args: WeightGroupJoin): Promise<number> {
    if (this.#weights?.generation === args.generation) return this.#weights.group.rank;
    this.#leaveWeightGroup();
    const store = new distributed.TCPStore({
      host: args.host,
      port: args.port,
      isServer: false,
      worldSize: args.worldSize,
      timeoutMs: args.timeoutMs,
    });
    try {
      const rank = store.add(`${args.prefix}/arrived`, 1);
      const group = distributed.initProcessGroup({
        store,
        rank,
        worldSize: args.worldSize,
        name: args.prefix,
        timeoutMs: args.timeoutMs,
        masterAddr: args.host,
      });
      try {
        const params = this.#trained();
        const onHost = [...params.values()].every((p) => p.device === "cpu" && p.isContiguous());
        // GPU (or strided) parameters receive into host staging, then one copy each.
        const staging = onHost ? null : new Map([...params].map(([n, p]) => [n, torch.empty(p.shape, { dtype: p.dtype })]));
        const broadcaster = new C10dWeightBroadcaster(staging ?? params, { group, name: args.prefix });
        this.#weights = { generation: args.generation, store, group, broadcaster, staging };
      } catch (err) {
        group.destroy();
        throw err;
      }
      return rank;
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** Receives the version the controller publishes to weight-group `generation` into the parameters. */
  @endpoint async receiveWeights(generation: number): Promise<number> {
    return this.#exclusive(async () => {
      const w = this.#weights;
      if (w?.generation !== generation)
        throw new Error(
          `receiveWeights(${generation}): this replica is in weight group generation ${w?.generation ?? "none"} (call joinWeightGroup)`,
        );
      const lora = this.#lora;
      lora?.unmerge();
      try {
        const params = this.#trained();
        const version = await w.broadcaster.receive(w.staging ?? params).catch((err) => {
          if (this.#weights === w) this.#leaveWeightGroup(); // the peers fail at once instead of waiting out the timeout
          throw err;
        });
        if (w.staging) copyStateDict(params, w.staging);
        this.#engine!.generatorVersion = version;
        return version;
      } finally {
        if (lora && this.config.lora!.generator === "merged") lora.merge();
      }
    });
  }

  /** The tensors that travel: the adapters under LoRA, else the whole model. */
  #trained(): StateDict {
    return (this.#lora ?? this.#model!).stateDict();
  }

  #leaveWeightGroup(): void {
    const w = this.#weights;
    this.#weights = null;
    if (!w) return;
    w.broadcaster.dispose();
    w.group.destroy();
    w.store.close();
    w.staging?.forEach((t) => t.dispose());
  }

  /** Store → parameters: straight into CPU tensors; through host staging, then one copy each, onto a GPU. */
  async #loadInto(version: number, params: Map<string, Tensor>): Promise<void> {
    if (!this.#versions)
      throw new Error(
        `updateWeights(${version}): this replica has no weight store (cluster.weight_sync: c10d sends weights by receiveWeights)`,
      );
    const onHost = [...params.values()].every((p) => p.device === "cpu");
    if (onHost) {
      await this.#versions!.get(version, { into: params });
      return;
    }
    const staged = (await this.#versions!.get(version)).value;
    copyStateDict(params, staged);
    for (const t of staged.values()) t.dispose();
  }

  @endpoint async version(): Promise<number> {
    return this.#engine!.generatorVersion;
  }

  @endpoint async pid(): Promise<number> {
    return process.pid;
  }

  /** The host this replica was placed on (the host agent's name; this host's name when local). */
  @endpoint async host(): Promise<string> {
    return this.context.host;
  }

  /** Sum of |w| over the trained parameters (the adapters under LoRA; float64): lets a test compare weights across processes. */
  @endpoint async weightsChecksum(): Promise<number> {
    return weightsChecksum(this.#lora ?? this.#model!);
  }

  override async shutdown(): Promise<void> {
    this.#leaveWeightGroup();
    this.#engine?.dispose();
    this.#lora?.dispose();
    this.#model?.dispose();
    await this.#versions?.store.close();
  }
}

export function weightsChecksum(model: nn.Module): number {
  return torch.tidy(() => model.parameters().reduce((s, p) => s + p.to("float64").abs().sum().item(), 0));
}
