/**
 * Versioned weights on top of any backend: version n of `prefix` is the key `<prefix>/v<n>`.
 * A version is one `put` of a whole state dict, so it is published atomically by the backend;
 * after publishing, all but the newest `keepLast` versions are deleted.
 */
import { StoreArgumentError, UnknownKeyError } from "./errors.ts";
import type { GetOptions, StateDict, WeightStore } from "./types.ts";

export interface VersionedStoreOptions {
  /** Key prefix of the versions. @default "policy" */
  prefix?: string;
  /**
   * How many newest versions to keep after each publish. Keep at least 2 so a reader that just
   * learned of version n can still fetch it while n+1 is published. @default 2
   */
  keepLast?: number;
}

export interface VersionedValue<V> {
  version: number;
  value: V;
}

export class VersionedStore {
  readonly store: WeightStore;
  readonly prefix: string;
  readonly keepLast: number;

  constructor(store: WeightStore, options: VersionedStoreOptions = {}) {
    this.store = store;
    this.prefix = options.prefix ?? "policy";
    if (this.prefix.length === 0 || this.prefix.endsWith("/")) throw new StoreArgumentError("options.prefix", "must be non-empty and not end with '/'", this.prefix);
    this.keepLast = options.keepLast ?? 2;
    if (!Number.isInteger(this.keepLast) || this.keepLast < 1) throw new StoreArgumentError("options.keepLast", "must be an integer >= 1", this.keepLast);
  }

  /** The key of version `n`: `<prefix>/v<n>`. */
  keyOf(version: number): string {
    if (!Number.isInteger(version) || version < 0) throw new StoreArgumentError("version", "must be a non-negative integer", version);
    return `${this.prefix}/v${version}`;
  }

  /** Publishes `stateDict` as `version` (atomically), then drops versions beyond `keepLast`. */
  async publish(version: number, stateDict: StateDict): Promise<void> {
    const key = this.keyOf(version);
    if (!(stateDict instanceof Map)) throw new StoreArgumentError("stateDict", "must be a Map<string, Tensor>", stateDict);
    await this.store.put(key, stateDict);
    const versions = await this.versions();
    for (const v of versions.slice(0, Math.max(0, versions.length - this.keepLast))) {
      await this.store.delete(this.keyOf(v)).catch((err) => {
        if (!(err instanceof UnknownKeyError)) throw err; // another pruner was first
      });
    }
  }

  /** Published versions, ascending. */
  async versions(): Promise<number[]> {
    const re = new RegExp(`^${escape(this.prefix)}/v(\\d+)$`);
    const out: number[] = [];
    for (const k of await this.store.keys(`${this.prefix}/v`)) {
      const m = re.exec(k);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** The newest published version, or undefined when none is. */
  async latestVersion(): Promise<number | undefined> {
    const v = await this.versions();
    return v.length ? v[v.length - 1] : undefined;
  }

  /**
   * Reads one version ("latest" by default). For "latest", a version pruned between listing and
   * reading is retried with the new latest.
   */
  async get(version: number | "latest" = "latest", options: GetOptions<StateDict> = {}): Promise<VersionedValue<StateDict>> {
    if (version !== "latest") return { version, value: await this.store.get<StateDict>(this.keyOf(version), options) };
    for (let attempt = 0; ; attempt++) {
      const v = await this.latestVersion();
      if (v === undefined) throw new UnknownKeyError(`${this.prefix}/v*`, "no version is published yet");
      try {
        return { version: v, value: await this.store.get<StateDict>(this.keyOf(v), options) };
      } catch (err) {
        if (!(err instanceof UnknownKeyError) || attempt >= 10) throw err;
      }
    }
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
