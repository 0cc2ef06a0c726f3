/** The weight-store contract every backend (in-process, shared memory, TCP) implements. */
import type { DType, Tensor } from "../torch/index.ts";

/** Named tensors, e.g. a model's parameters. */
export type StateDict = Map<string, Tensor>;

/** What `put` accepts and `get` returns: one tensor or a state dict. */
export type StoreValue = Tensor | StateDict;

export interface GetOptions<V extends StoreValue = StoreValue> {
  /**
   * Preallocated tensors to fill (same shapes and dtypes, contiguous CPU): the data lands in them
   * with no extra copy and `get` returns `into` itself. For a state dict every stored name must
   * be present in `into`. @default undefined (allocate new tensors, or for the in-process
   * backend return the stored tensors themselves)
   */
  into?: V;
}

/**
 * A key → tensor/state-dict store. `put` publishes atomically: a concurrent `get` sees either the
 * previous value or the whole new one, never a mix. Keys are non-empty strings; `/` groups them
 * (`policy/v3`), and `keys(prefix)` lists by prefix.
 */
export interface WeightStore {
  put(key: string, value: StoreValue): Promise<void>;
  get<V extends StoreValue = StoreValue>(key: string, options?: GetOptions<V>): Promise<V>;
  /** Published keys starting with `prefix`, sorted. @default prefix "" */
  keys(prefix?: string): Promise<string[]>;
  /** Removes a key; unknown keys throw `UnknownKeyError`. */
  delete(key: string): Promise<void>;
  /** Releases the backend's resources (files, sockets). */
  close(): Promise<void>;
}

/**
 * Where one tensor's bytes live, as carried by control messages (never the bytes themselves).
 * `name` is "" for a single-tensor value.
 */
export interface TensorHandle {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offset within the value's data (file or stream). */
  offset: number;
  byteLength: number;
  /** CRC-32 of the bytes, when the writer computed one. */
  crc32?: number;
}

/**
 * A published shared-memory value's description: what `get` needs to read it. Plain JSON,
 * structured-cloneable, so it can travel in a control message to another process on the host.
 */
export interface ValueManifest {
  key: string;
  kind: "tensor" | "stateDict";
  /** Data files in order; each holds `partBytes` of the value's bytes (the last the rest) after a header. */
  files: string[];
  partBytes: number;
  /** Unique per publish and written in every file's header: a reader whose files hold another stamp read a replaced value. */
  stamp: number;
  /** Monotonic per-writer sequence: tells readers which publish they read. */
  seq: number;
  totalBytes: number;
  /** Tensor offsets are into the value's bytes (as if the parts were concatenated, headers left out). */
  tensors: TensorHandle[];
}
