/**
 * Network backend: a `StoreServer` holds values in memory and serves them over TCP; a
 * `TcpStoreClient` on any host reads and writes them. Tensor bytes are streamed in CRC-checked
 * chunks (see wire.ts) straight from the sender's tensor memory and straight into the
 * receiver's tensors; control messages carry only keys and layouts.
 *
 * A server publishes a `put` only after every chunk arrived and checked out, so readers never
 * see a partial value. A connection runs one request at a time (requests queue on the client).
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { Tensor, torch } from "../torch/index.ts";
import { ChecksumError, StoreArgumentError, StoreConnectionError, StoreError, UnknownKeyError } from "./errors.ts";
import { InProcessStore } from "./in-process-store.ts";
import { bytesOf, checkKey, destinations, entriesOf, hostContiguous, layout } from "./tensors.ts";
import type { GetOptions, StoreValue, TensorHandle, WeightStore } from "./types.ts";
import { ChunkSink, FrameReader, writeChunks, writeJson } from "./wire.ts";

/** @default 4 MiB: large enough to amortise per-frame costs, small enough to bound a retransmit. */
export const DEFAULT_CHUNK_BYTES = 4 << 20;

export interface StoreAddress {
  host: string;
  port: number;
}

export interface StoreServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind; use "0.0.0.0" to serve other hosts. @default "127.0.0.1" */
  host?: string;
  /** Largest chunk the server sends. @default DEFAULT_CHUNK_BYTES */
  chunkBytes?: number;
}

interface PendingPut {
  id: number;
  key: string;
  kind: "tensor" | "stateDict";
  handles: TensorHandle[];
  targets: Tensor[];
  sink: ChunkSink;
  bad?: ChecksumError;
}

const errorReply = (id: number, err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  return { id, error: { name: e.name, message: e.message, key: (e as { key?: string }).key } };
};

/** A TCP server holding the store's values in its process (tensors it allocated and owns). */
export class StoreServer {
  readonly store = new InProcessStore({ owns: true });
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #chunkBytes: number;
  #address: StoreAddress = { host: "", port: 0 };

  private constructor(options: StoreServerOptions) {
    this.#chunkBytes = checkChunk(options.chunkBytes);
    this.#server = createServer((s) => this.#serve(s));
  }

  static async listen(options: StoreServerOptions = {}): Promise<StoreServer> {
    const s = new StoreServer(options);
    const host = options.host ?? "127.0.0.1";
    s.#server.listen(options.port ?? 0, host);
    await Promise.race([once(s.#server, "listening"), once(s.#server, "error").then(([e]) => Promise.reject(e))]);
    const addr = s.#server.address();
    if (addr === null || typeof addr === "string") throw new StoreError("store server did not bind a TCP port");
    s.#address = { host, port: addr.port };
    return s;
  }

  /** Where clients connect (structured-cloneable; send it to other processes). */
  get address(): StoreAddress {
    return { ...this.#address };
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
    await this.store.close();
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    let put: PendingPut | undefined;
    let queue: Promise<void> = Promise.resolve();
    const finishPut = (p: PendingPut) => {
      put = undefined;
      if (p.bad) {
        p.targets.forEach((t) => t.dispose());
        void writeJson(socket, errorReply(p.id, p.bad)).catch(() => {});
        return;
      }
      const value: StoreValue = p.kind === "tensor" ? p.targets[0]! : new Map(p.handles.map((h, i) => [h.name, p.targets[i]!]));
      this.store.putSync(p.key, value); // published only now, whole
      void writeJson(socket, { id: p.id, ok: true }).catch(() => {});
    };
    new FrameReader(socket, {
      message: (msg) => {
        if (msg.op === "put") {
          try {
            const key = checkKey(msg.key);
            const handles = msg.tensors as TensorHandle[];
            const targets = handles.map((h) => torch.empty(h.shape, { dtype: h.dtype }));
            put = { id: msg.id, key, kind: msg.kind, handles, targets, sink: new ChunkSink(targets.map(bytesOf)) };
            if (put.sink.done) finishPut(put);
          } catch (err) {
            void writeJson(socket, errorReply(msg.id, err)).catch(() => {});
          }
          return;
        }
        queue = queue.then(() => this.#request(socket, msg)).catch(() => void socket.destroy());
      },
      sink: () => put?.sink,
      chunkEnd: (ok, expected, got) => {
        const p = put!;
        if (!ok && !p.bad) p.bad = ChecksumError.mismatch(p.key, `a chunk of the put (${p.sink.remaining} bytes left)`, expected, got);
        if (p.sink.done) finishPut(p);
      },
      error: () => {},
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#sockets.delete(socket);
      put?.targets.forEach((t) => t.dispose());
    });
  }

  async #request(socket: Socket, msg: { id: number; op: string; key?: string; prefix?: string }): Promise<void> {
    try {
      switch (msg.op) {
        case "get": {
          const e = this.store.peek(checkKey(msg.key));
          // Take the byte views first: they keep the storage alive even if the value is replaced mid-stream.
          const parts = e.entries.map(([, t]) => bytesOf(t));
          await writeJson(socket, { id: msg.id, ok: true, kind: e.kind, tensors: layout(e.entries).handles });
          await writeChunks(socket, parts, this.#chunkBytes);
          return;
        }
        case "keys":
          await writeJson(socket, { id: msg.id, ok: true, keys: await this.store.keys(String(msg.prefix ?? "")) });
          return;
        case "delete":
          await this.store.delete(checkKey(msg.key));
          await writeJson(socket, { id: msg.id, ok: true });
          return;
        default:
          throw new StoreArgumentError("op", "must be one of put, get, keys, delete", msg.op);
      }
    } catch (err) {
      await writeJson(socket, errorReply(msg.id, err));
    }
  }
}

export interface TcpStoreClientOptions extends StoreAddress {
  /** Largest chunk the client sends. @default DEFAULT_CHUNK_BYTES */
  chunkBytes?: number;
  /** Give up connecting after this long. @default 10000 */
  connectTimeoutMs?: number;
}

interface Waiter {
  resolve(msg: any): void;
  reject(err: Error): void;
  /** For a get: where the announced bytes go, and the error to report once they are consumed. */
  onHeader?(msg: any): ChunkSink;
}

/** A client of a `StoreServer` (in another process or on another host). */
export class TcpStoreClient implements WeightStore {
  readonly #socket: Socket;
  readonly #chunkBytes: number;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #waiter: Waiter | undefined;
  #sink: ChunkSink | undefined;
  #closed = false;

  private constructor(socket: Socket, chunkBytes: number) {
    this.#socket = socket;
    this.#chunkBytes = chunkBytes;
    socket.setNoDelay(true);
    new FrameReader(socket, {
      message: (msg) => {
        const w = this.#waiter;
        if (!w) return;
        if (w.onHeader && msg.ok) {
          this.#sink = w.onHeader(msg); // bytes follow; the waiter resolves when the sink is full
          if (this.#sink.done) this.#settleGet();
          return;
        }
        this.#waiter = undefined;
        if (msg.error) w.reject(remoteError(msg.error));
        else w.resolve(msg);
      },
      sink: () => this.#sink,
      chunkEnd: (ok, expected, got) => {
        if (!ok) this.#chunkFailure ??= { expected, got };
        if (this.#sink?.done) this.#settleGet();
      },
      error: (err) => this.#fail(err),
    });
    socket.on("error", (err) => this.#fail(new StoreConnectionError(`store connection failed: ${err.message}`, { cause: err })));
    socket.on("close", () => this.#fail(new StoreConnectionError("store connection closed by the server")));
  }

  #chunkFailure: { expected: number; got: number } | undefined;
  #getResult: { value: StoreValue; key: string; error?: Error; cleanup(): void } | undefined;

  static async connect(options: TcpStoreClientOptions): Promise<TcpStoreClient> {
    if (!Number.isInteger(options.port) || options.port <= 0) throw new StoreArgumentError("options.port", "must be a positive integer", options.port);
    const socket = netConnect({ host: options.host ?? "127.0.0.1", port: options.port });
    const timeout = options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once(socket, "connect"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new StoreConnectionError(`no store server answered at ${options.host}:${options.port} within ${timeout} ms`)), timeout))),
      ]);
    } catch (err) {
      socket.destroy();
      if (err instanceof StoreConnectionError) throw err;
      throw new StoreConnectionError(`cannot connect to the store server at ${options.host}:${options.port}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return new TcpStoreClient(socket, checkChunk(options.chunkBytes));
  }

  async put(key: string, value: StoreValue): Promise<void> {
    checkKey(key);
    const given = entriesOf(value);
    return this.#run(async () => {
      const entries = given.map(([n, t]) => [n, hostContiguous(t)] as [string, Tensor]);
      try {
        const id = this.#nextId++;
        const reply = this.#await({});
        const { handles } = layout(entries);
        await writeJson(this.#socket, { id, op: "put", key, kind: value instanceof Map ? "stateDict" : "tensor", tensors: handles });
        await writeChunks(this.#socket, entries.map(([, t]) => bytesOf(t)), this.#chunkBytes);
        await reply;
      } finally {
        entries.forEach(([, t], i) => t !== given[i]![1] && t.dispose());
      }
    });
  }

  async get<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): Promise<V> {
    checkKey(key);
    return this.#run(async () => {
      const id = this.#nextId++;
      const reply = this.#await({
        onHeader: (msg) => {
          this.#chunkFailure = undefined;
          const handles = msg.tensors as TensorHandle[];
          try {
            const { targets, value } = destinations(key, msg.kind, handles, options.into);
            this.#getResult = { value, key, cleanup: () => options.into === undefined && targets.forEach((t) => t.dispose()) };
            return new ChunkSink(targets.map(bytesOf));
          } catch (err) {
            // Consume (and drop) the announced bytes so the connection stays usable, then report.
            const scratch = new Uint8Array(1 << 20);
            const total = handles.reduce((a, h) => a + h.byteLength, 0);
            const parts = Array.from({ length: Math.ceil(total / scratch.byteLength) }, (_, i) => scratch.subarray(0, Math.min(scratch.byteLength, total - i * scratch.byteLength)));
            this.#getResult = { value: undefined as unknown as StoreValue, key, error: err as Error, cleanup: () => {} };
            return new ChunkSink(parts);
          }
        },
      });
      await writeJson(this.#socket, { id, op: "get", key });
      return (await reply) as V;
    });
  }

  async keys(prefix = ""): Promise<string[]> {
    return this.#run(async () => {
      const reply = this.#await({});
      await writeJson(this.#socket, { id: this.#nextId++, op: "keys", prefix });
      return (await reply).keys as string[];
    });
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    return this.#run(async () => {
      const reply = this.#await({});
      await writeJson(this.#socket, { id: this.#nextId++, op: "delete", key });
      await reply;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    this.#socket.destroy();
  }

  #settleGet(): void {
    const w = this.#waiter;
    const r = this.#getResult;
    const failure = this.#chunkFailure;
    this.#waiter = this.#sink = this.#getResult = this.#chunkFailure = undefined;
    if (!w || !r) return;
    if (failure) {
      r.cleanup();
      w.reject(ChecksumError.mismatch(r.key, "a chunk received from the store server", failure.expected, failure.got));
    } else if (r.error) w.reject(r.error);
    else w.resolve(r.value);
  }

  #await(w: Omit<Waiter, "resolve" | "reject">): Promise<any> {
    const p = new Promise((resolve, reject) => {
      this.#waiter = { ...w, resolve, reject };
    });
    p.catch(() => {}); // when sending fails first, the send error is the one reported
    return p;
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreConnectionError("store client is closed"));
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  #fail(err: Error): void {
    this.#closed = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    this.#getResult?.cleanup();
    this.#getResult = undefined;
    w?.reject(err);
  }
}

function remoteError(e: { name: string; message: string; key?: string }): Error {
  if (e.name === "UnknownKeyError" && e.key !== undefined) return new UnknownKeyError(e.key, "on the store server");
  if (e.name === "ChecksumError") return new ChecksumError(e.key ?? "", `store server: ${e.message}`);
  const err = new StoreError(`store server: ${e.message}`);
  err.name = e.name;
  return err;
}

function checkChunk(n: number | undefined): number {
  const v = n ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new StoreArgumentError("chunkBytes", "must be an integer in [1, 2^31)", n);
  return v;
}

