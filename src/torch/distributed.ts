/**
 * torch.distributed for TypeScript: libtorch's c10d `TCPStore` rendezvous and Gloo process groups
 * (native/src/distributed.cc), with torchrun's environment contract so standard launchers work
 * unchanged (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`).
 *
 * Collectives are asynchronous like PyTorch's `async_op=True`: each returns a `Work` whose
 * `wait()` resolves when the collective is done (the event loop keeps running meanwhile) and
 * `waitSync()` blocks instead. Until then the tensors belong to the collective: do not read or
 * write them. Tensors must be contiguous, CPU, and the same shape and dtype on every rank.
 */
import os from "node:os";
import { native } from "./native.ts";
import { Tensor } from "./tensor.ts";
import { cat } from "./creation.ts";
import { isFloatingPoint } from "./dtype.ts";

export type ReduceOp = "sum" | "avg" | "product" | "min" | "max";
const REDUCE_CODES: Record<Exclude<ReduceOp, "avg">, number> = { sum: 0, product: 1, min: 2, max: 3 };

/** Collectives fail after this long without progress unless told otherwise (PyTorch's default is 30 min). */
export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export class DistributedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DistributedError";
  }
}

/** torchrun's per-process environment. */
export interface TorchrunEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") {
    if (fallback === undefined) throw new DistributedError(`environment variable ${name} is not set (expected an integer ≥ ${min}, as torchrun or forge launch sets it)`);
    return fallback;
  }
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw new DistributedError(`environment variable ${name}=${JSON.stringify(raw)}: expected an integer ≥ ${min}`);
  return Number(raw);
}

/**
 * Reads torchrun's variables. Without `RANK`/`WORLD_SIZE` the process is a single rank (0 of 1),
 * so code written for launchers also runs alone.
 */
export function readTorchrunEnv(env: NodeJS.ProcessEnv = process.env): TorchrunEnv {
  const worldSize = intVar(env, "WORLD_SIZE", 1, 1);
  const rank = intVar(env, "RANK", worldSize === 1 ? 0 : undefined, 0);
  if (rank >= worldSize) throw new DistributedError(`RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const localWorldSize = intVar(env, "LOCAL_WORLD_SIZE", worldSize, 1);
  const localRank = intVar(env, "LOCAL_RANK", rank % localWorldSize, 0);
  const masterAddr = env.MASTER_ADDR && env.MASTER_ADDR !== "" ? env.MASTER_ADDR : "127.0.0.1";
  const masterPort = intVar(env, "MASTER_PORT", worldSize === 1 ? 29500 : undefined, 1);
  if (masterPort > 65535) throw new DistributedError(`MASTER_PORT=${masterPort}: expected a port 1..65535`);
  return { rank, worldSize, localRank, localWorldSize, masterAddr, masterPort };
}

function call<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new DistributedError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export interface TCPStoreOptions {
  host: string;
  port: number;
  /** The one process that listens (rank 0 by convention); the others connect to it. */
  isServer: boolean;
  worldSize: number;
  timeoutMs?: number;
}

/** c10d's TCP key-value store: the rendezvous every rank meets at, also usable for small control data. */
export class TCPStore {
  readonly #id: number;
  #closed = false;

  constructor(options: TCPStoreOptions) {
    const { host, port, isServer, worldSize, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    this.#id = call(`TCPStore ${host}:${port} (${isServer ? "server" : "client"})`, () =>
      native.distStoreCreate(host, port, isServer, worldSize, timeoutMs),
    );
  }

  /** @internal */
  get id(): number {
    if (this.#closed) throw new DistributedError("TCPStore is closed");
    return this.#id;
  }

  set(key: string, value: string): void {
    call(`TCPStore.set(${key})`, () => native.distStoreSet(this.id, key, value));
  }
  /** Waits (up to the store's timeout) until `key` exists. */
  get(key: string): string {
    return call(`TCPStore.get(${key})`, () => native.distStoreGet(this.id, key));
  }
  /** Atomically adds `delta` to an integer key (created at 0) and returns the new value. */
  add(key: string, delta: number): number {
    return call(`TCPStore.add(${key})`, () => native.distStoreAdd(this.id, key, delta));
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.distStoreDestroy(this.#id);
  }
}

/** A collective in flight. `wait()`/`waitSync()` may be called once; both release the handle. */
export class Work {
  readonly #id: number;
  readonly #what: string;
  readonly #timeoutMs: number;
  readonly #after: (() => void) | undefined;
  #claimed = false;
  #released = false;

  /** @internal */
  constructor(id: number, what: string, timeoutMs: number, after?: () => void) {
    this.#id = id;
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.#after = after;
  }

  isCompleted(): boolean {
    return this.#released || native.distWorkIsCompleted(this.#id);
  }

  async wait(): Promise<void> {
    this.#claim();
    try {
      await native.distWorkWaitAsync(this.#id, this.#timeoutMs);
    } catch (err) {
      throw this.#error(err);
    } finally {
      this.#release();
    }
    this.#after?.();
  }

  /** Blocks this thread until the collective ends (no timers or IPC run meanwhile). */
  waitSync(): void {
    this.#claim();
    try {
      native.distWorkWait(this.#id, this.#timeoutMs);
    } catch (err) {
      throw this.#error(err);
    } finally {
      this.#release();
    }
    this.#after?.();
  }

  #claim(): void {
    if (this.#claimed) throw new DistributedError(`${this.#what}: wait() was already called`);
    this.#claimed = true;
  }
  // After release the native handle is gone; the collective is over either way.
  #release(): void {
    this.#released = true;
    native.distWorkRelease(this.#id);
  }
  #error(err: unknown): DistributedError {
    const reason = err instanceof Error ? err.message : String(err);
    return new DistributedError(`${this.#what} failed (a peer rank exited, or it timed out after ${this.#timeoutMs} ms): ${reason}`, { cause: err });
  }
}

export interface InitProcessGroupOptions extends Partial<TorchrunEnv> {
  /**
   * "gloo" (CPU tensors; CUDA ones too where libtorch has CUDA) or "nccl" (CUDA tensors only; each
   * rank's tensors on its own device, e.g. `cuda:${localRank}`). "nccl" exists only in an addon
   * built against a CUDA libtorch with the CUDA/NCCL headers (`ncclAvailable()`); elsewhere it
   * throws a `DistributedError` saying why. @default "gloo"
   */
  backend?: "gloo" | "nccl";
  timeoutMs?: number;
  /** Reuse an existing store instead of creating one at MASTER_ADDR:MASTER_PORT. */
  store?: TCPStore;
  /** Namespaces this group's keys in the store (several groups on one store). */
  name?: string;
  /** NCCL only: this rank's GPU, where the group's own small tensors go. @default `cuda:${localRank}` */
  device?: string;
  /** The address this rank's Gloo device binds to; default 127.0.0.1 for a loopback master, else this host's name. */
  hostname?: string;
}

/** Whether this addon was built with the NCCL backend (says nothing about GPUs being present). */
export function ncclAvailable(): boolean {
  return native.distNcclAvailable();
}

/** A Gloo or NCCL process group over `worldSize` ranks. */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: "gloo" | "nccl";
  /** Where collectives on small host values (counts, losses) stage their tensor: "cpu" for Gloo, this rank's GPU for NCCL. */
  readonly device: string;
  readonly timeoutMs: number;
  readonly store: TCPStore;
  readonly #ownsStore: boolean;
  readonly #id: number;
  #destroyed = false;

  /** @internal use initProcessGroup */
  constructor(id: number, rank: number, worldSize: number, timeoutMs: number, store: TCPStore, ownsStore: boolean, backend: "gloo" | "nccl" = "gloo", device = "cpu") {
    this.#id = id;
    this.backend = backend;
    this.device = device;
    this.rank = rank;
    this.worldSize = worldSize;
    this.timeoutMs = timeoutMs;
    this.store = store;
    this.#ownsStore = ownsStore;
  }

  get #gid(): number {
    if (this.#destroyed) throw new DistributedError("the process group was destroyed");
    return this.#id;
  }

  /** @internal the native group id (for GradReducer) */
  get id(): number {
    return this.#gid;
  }

  #work(what: string, start: () => number, after?: () => void): Work {
    const label = `${what} on rank ${this.rank} of ${this.worldSize}`;
    return new Work(call(label, start), label, this.timeoutMs, after);
  }

  /** Reduces `tensors` in place across ranks (every rank ends with the result). */
  allReduce(tensors: Tensor | Tensor[], options: { op?: ReduceOp } = {}): Work {
    return this.#allReduce(Array.isArray(tensors) ? tensors : [tensors], options.op ?? "sum", "allReduce");
  }

  #allReduce(list: Tensor[], op: ReduceOp, what: string, then?: () => void): Work {
    if (!(op in REDUCE_CODES) && op !== "avg") throw new DistributedError(`${what}: op must be one of sum, avg, product, min, max; got ${JSON.stringify(op)}`);
    if (op === "avg" && list.some((t) => !isFloatingPoint(t.dtype))) throw new DistributedError(`${what}: op "avg" needs floating-point tensors (sum integers instead)`);
    // Gloo has no AVG: sum, then divide once the sum is in.
    const code = REDUCE_CODES[op === "avg" ? "sum" : op];
    const after = () => {
      if (op === "avg") list.forEach((t) => t.div_(this.worldSize));
      then?.();
    };
    return this.#work(`${what}(${op})`, () => native.distAllReduce(this.#gid, list.map((t) => t._h), code), after);
  }

  /** Copies rank `src`'s tensors into every other rank's, in place. */
  broadcast(tensors: Tensor | Tensor[], src = 0): Work {
    const list = Array.isArray(tensors) ? tensors : [tensors];
    return this.#work(`broadcast(src=${src})`, () => native.distBroadcast(this.#gid, list.map((t) => t._h), src));
  }

  /** Every rank's `input` lands in `outputs[rank]` on every rank. */
  allGather(outputs: Tensor[], input: Tensor): Work {
    return this.#work("allGather", () => native.distAllGather(this.#gid, outputs.map((t) => t._h), input._h));
  }

  /**
   * `output` = the reduction over ranks of `inputs[this.rank]`. Gloo in libtorch 1.13 has no
   * reduce-scatter, so this all-reduces the concatenated inputs and keeps this rank's slice:
   * correct everywhere, worldSize× the traffic of a native reduce-scatter.
   */
  reduceScatter(output: Tensor, inputs: Tensor[], options: { op?: ReduceOp } = {}): Work {
    if (inputs.length !== this.worldSize) throw new DistributedError(`reduceScatter: inputs must hold one tensor per rank (${this.worldSize}); got ${inputs.length}`);
    const flat = cat(inputs.map((t) => t.contiguous().flatten()));
    const offset = inputs.slice(0, this.rank).reduce((n, t) => n + t.numel, 0);
    return this.#allReduce([flat], options.op ?? "sum", "reduceScatter", () => {
      output.copy_(flat.narrow(0, offset, output.numel).view(output.shape));
      flat.dispose();
    });
  }

  /** Resolves once every rank has reached it. */
  barrier(): Work {
    return this.#work("barrier", () => native.distBarrier(this.#gid));
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    native.distGroupDestroy(this.#id);
    if (this.#ownsStore) this.store.close();
  }
}

/**
 * Joins (or, on rank 0, opens) the rendezvous and builds the group; blocks until every rank has
 * joined or `timeoutMs` passes. Options default to torchrun's environment (readTorchrunEnv).
 */
export function initProcessGroup(options: InitProcessGroupOptions = {}): ProcessGroup {
  const backend = options.backend ?? "gloo";
  if (backend !== "gloo" && backend !== "nccl") throw new DistributedError(`backend must be "gloo" or "nccl"; got ${JSON.stringify(backend)}`);
  // Refused before any rendezvous, with the native side's reason (no CUDA libtorch / no headers).
  if (backend === "nccl" && !native.distNcclAvailable()) call("backend \"nccl\"", () => native.distNcclCreate(0, "", 0, 1, 1));
  const env = readTorchrunEnv();
  const rank = options.rank ?? env.rank;
  const worldSize = options.worldSize ?? env.worldSize;
  const masterAddr = options.masterAddr ?? env.masterAddr;
  const masterPort = options.masterPort ?? env.masterPort;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new DistributedError(`worldSize must be an integer ≥ 1; got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new DistributedError(`rank must be an integer in [0, ${worldSize}); got ${rank}`);
  const store = options.store ?? new TCPStore({ host: masterAddr, port: masterPort, isServer: rank === 0, worldSize, timeoutMs });
  const loopback = masterAddr === "127.0.0.1" || masterAddr === "localhost" || masterAddr === "::1";
  const hostname = options.hostname ?? process.env.TORCHFORGE_GLOO_HOSTNAME ?? (loopback ? "127.0.0.1" : os.hostname());
  const name = options.name ?? "default";
  try {
    const label = `${backend === "nccl" ? "NCCL" : "Gloo"} process group "${name}" (rank ${rank} of ${worldSize}, master ${masterAddr}:${masterPort})`;
    const id = call(label, () =>
      backend === "nccl"
        ? native.distNcclCreate(store.id, `${name}/`, rank, worldSize, timeoutMs)
        : native.distGlooCreate(store.id, `${name}/`, rank, worldSize, timeoutMs, hostname),
    );
    const device = backend === "nccl" ? (options.device ?? `cuda:${options.localRank ?? env.localRank}`) : "cpu";
    return new ProcessGroup(id, rank, worldSize, timeoutMs, store, options.store === undefined, backend, device);
  } catch (err) {
    if (options.store === undefined) store.close();
    throw err;
  }
}
