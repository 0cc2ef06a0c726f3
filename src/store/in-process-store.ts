/**
 * In-process backend: the store keeps references to the tensors themselves — zero copy. `get`
 * returns the very tensors that were `put` (or copies them into `into`). This is the colocated
 * fast path: a trainer and a generator in one process share parameter memory.
 *
 * Because tensors are shared, a writer that mutates a tensor after `put` changes what readers
 * see; publish a fresh state dict per version (or `put` clones) when readers must see a snapshot.
 */
import type { Tensor } from "../torch/index.ts";
import { UnknownKeyError } from "./errors.ts";
import { checkKey, destinations, entriesOf, layout } from "./tensors.ts";
import type { GetOptions, StoreValue, WeightStore } from "./types.ts";

export interface InProcessStoreOptions {
  /**
   * The store owns what it holds: a deleted or overwritten value's tensors are disposed.
   * Used by the TCP server, whose tensors nobody else references. @default false
   */
  owns?: boolean;
  /**
   * With `owns`: receives a replaced or deleted value's tensors instead of their being disposed
   * (the TCP server recycles them). @default undefined (dispose)
   */
  onRelease?: (tensors: Tensor[]) => void;
}

interface Entry {
  kind: "tensor" | "stateDict";
  entries: [string, Tensor][];
}

export class InProcessStore implements WeightStore {
  readonly #map = new Map<string, Entry>();
  readonly #owns: boolean;
  readonly #onRelease: ((tensors: Tensor[]) => void) | undefined;

  constructor(options: InProcessStoreOptions = {}) {
    this.#owns = options.owns ?? false;
    this.#onRelease = options.onRelease;
  }

  async put(key: string, value: StoreValue): Promise<void> {
    this.putSync(key, value);
  }

  /** `put` without the promise; publishing is one `Map.set`, hence atomic. */
  putSync(key: string, value: StoreValue): void {
    checkKey(key);
    const entries = entriesOf(value);
    const kind = value instanceof Map ? "stateDict" : "tensor";
    const old = this.#map.get(key);
    this.#map.set(key, { kind, entries });
    if (old) this.#release(old, entries);
  }

  async get<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): Promise<V> {
    return this.getSync(key, options);
  }

  getSync<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): V {
    checkKey(key);
    const e = this.#map.get(key);
    if (!e) throw new UnknownKeyError(key);
    if (options.into === undefined) {
      return (e.kind === "tensor" ? e.entries[0]![1] : new Map(e.entries)) as V;
    }
    const { handles } = layout(e.entries);
    const { targets, value } = destinations(key, e.kind, handles, options.into);
    targets.forEach((t, i) => {
      const src = e.entries[i]![1];
      if (t !== src) t.copy_(src);
    });
    return value as V;
  }

  /** The stored entries without copying (for servers streaming them out). @internal */
  peek(key: string): Entry {
    const e = this.#map.get(key);
    if (!e) throw new UnknownKeyError(key);
    return e;
  }

  async keys(prefix = ""): Promise<string[]> {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const e = this.#map.get(key);
    if (!e) throw new UnknownKeyError(key);
    this.#map.delete(key);
    this.#release(e, []);
  }

  async close(): Promise<void> {
    for (const e of this.#map.values()) this.#release(e, []);
    this.#map.clear();
  }

  #release(e: Entry, keep: [string, Tensor][]): void {
    if (!this.#owns) return;
    const kept = new Set(keep.map(([, t]) => t));
    const gone = e.entries.map(([, t]) => t).filter((t) => !kept.has(t));
    if (this.#onRelease) this.#onRelease(gone);
    else gone.forEach((t) => t.dispose());
  }
}
