/**
 * The reader side of bench/store-throughput.ts, run in a child process: a simulated generator
 * with preallocated staging tensors and "model" parameters.
 */
import { Actor, endpoint } from "../src/actors/index.ts";
import { copyStateDict, SharedMemoryStore, TcpStoreClient, VersionedStore, WeightSyncer, type StateDict, type StoreAddress, type WeightStore } from "../src/store/index.ts";
import { torch, type DType } from "../src/torch/index.ts";

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

export class StoreBenchPeer extends Actor {
  static module = import.meta.url;
  #staging: StateDict = new Map();
  #params: StateDict = new Map();
  #tcp: TcpStoreClient | undefined;

  /** Allocates and touches staging buffers and parameters (a running generator has both). */
  @endpoint async prepare(specs: TensorSpec[]): Promise<void> {
    for (const s of specs) {
      this.#staging.set(s.name, torch.zeros(s.shape, { dtype: s.dtype }));
      this.#params.set(s.name, torch.zeros(s.shape, { dtype: s.dtype }));
    }
  }

  /** One get into the staging tensors; ms, and whether the first element equals `expect`. */
  @endpoint async shmGet(root: string, key: string, expect: number): Promise<{ ms: number; ok: boolean }> {
    const store = SharedMemoryStore.open({ root });
    const t0 = performance.now();
    await store.get(key, { into: this.#staging });
    return { ms: performance.now() - t0, ok: this.#check(expect) };
  }

  @endpoint async tcpGet(address: StoreAddress, key: string, expect: number): Promise<{ ms: number; ok: boolean }> {
    this.#tcp ??= await TcpStoreClient.connect(address);
    const t0 = performance.now();
    await this.#tcp.get(key, { into: this.#staging });
    return { ms: performance.now() - t0, ok: this.#check(expect) };
  }

  /**
   * A generator serving `lanes` concurrent requests of 1 ms "tokens" (with a `boundary()` after
   * each) updates to `version`: with `prefetch`, the fetch into staging runs while requests keep
   * going and only the copy into the parameters happens under the pause; without, the read from
   * the store into the parameters happens under the pause.
   */
  @endpoint async simulateUpdate(root: string, version: number, prefetch: boolean): Promise<{ pausedMs: number; drainMs: number; loadMs: number; fetchMs: number; tokensDuringFetch: number; ok: boolean }> {
    const versions = new VersionedStore(SharedMemoryStore.open({ root }));
    const syncer = new WeightSyncer({
      gate: new (await import("../src/store/index.ts")).VersionGate(version - 1),
      fetch: async (v, staging) => (await versions.get(v, { into: staging ?? this.#staging })).value,
      apply: (w) => copyStateDict(this.#params, w),
    });
    let stop = false;
    let tokens = 0;
    const lane = async () => {
      while (!stop) {
        await syncer.gate.run(async () => {
          for (let i = 0; i < 20 && !stop; i++) {
            busy(1);
            tokens++;
            await new Promise((r) => setImmediate(r));
            await syncer.gate.boundary();
          }
        });
      }
    };
    const lanes = Array.from({ length: 4 }, lane);
    await new Promise((r) => setTimeout(r, 50));
    let fetchMs = 0;
    let tokensDuringFetch = 0;
    let timing;
    if (prefetch) {
      const t0 = performance.now();
      const before = tokens;
      await syncer.prefetch(version);
      fetchMs = performance.now() - t0;
      tokensDuringFetch = tokens - before;
      timing = await syncer.update(version);
    } else {
      timing = await syncer.gate.update(version, async () => {
        const t0 = performance.now();
        await versions.get(version, { into: this.#params });
        fetchMs = performance.now() - t0;
      });
    }
    await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(lanes);
    const first = [...this.#params.values()][0]!;
    return { pausedMs: timing.pausedMs, drainMs: timing.drainMs, loadMs: timing.loadMs, fetchMs, tokensDuringFetch, ok: first.flatten().select(0, 0).item() === version };
  }

  #check(expect: number): boolean {
    return [...this.#staging.values()].every((t) => t.flatten().select(0, 0).item() === expect);
  }

  override async shutdown(): Promise<void> {
    await this.#tcp?.close();
  }
}

export type { WeightStore };
