/**
 * Network backend: a `StoreServer` holds values in memory and serves them over TCP; a
 * `TcpStoreClient` on any host reads and writes them. Tensor bytes are streamed in chunks (see
 * wire.ts) straight from the sender's tensor memory into the socket, and on a client straight from
 * the socket into the receiver's tensors; control messages carry only keys and layouts. CRC-32 per
 * chunk is optional (`checksums`): it costs about 0.25 s per 500 MB on each side here.
 *
 * The fast path across hosts: the trainer runs the `StoreServer` in its own process and publishes
 * into it locally (`new VersionedStore(server).publish(v, sd)`: one memcpy into recycled
 * tensors), generators `get` from it over one TCP hop into their preallocated tensors.
 *
 * A server publishes a `put` only after every chunk arrived and checked out, so readers never
 * see a partial value. A connection runs one request at a time (requests queue on the client).
 *
 * Access: a server reachable from other hosts (bound beyond the loopback) makes a random token,
 * part of its `address`; a connection must present it before anything else, or it is refused
 * and closed. Whoever can read the address (the app passes it to its own replicas) can read the
 * weights; nobody else who can reach the port can. The bytes themselves are not encrypted.
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { hostname } from "node:os";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Tensor, torch } from "../torch/index.ts";
import { ChecksumError, StoreArgumentError, StoreConnectionError, StoreError, UnknownKeyError } from "./errors.ts";
import { InProcessStore } from "./in-process-store.ts";
import { TensorPool } from "./tensor-pool.ts";
import { bytesOf, byteLengthOf, checkKey, destinations, entriesOf, hostContiguous, layout } from "./tensors.ts";
import type { GetOptions, StoreValue, TensorHandle, WeightStore } from "./types.ts";
import { ChunkSink, FrameReader, writeChunks, writeJson } from "./wire.ts";

/** @default 4 MiB: large enough to amortise per-frame costs, small enough to bound a retransmit. */
export const DEFAULT_CHUNK_BYTES = 4 << 20;

export interface StoreAddress {
  host: string;
  port: number;
  /** The server's access token, when it has one (see `StoreServerOptions.token`). */
  token?: string;
}

export interface StoreServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind; use "0.0.0.0" to serve other hosts. @default "127.0.0.1" */
  host?: string;
  /**
   * The host name `address` gives clients. @default `host`, or this machine's `os.hostname()`
   * when bound to every interface ("0.0.0.0" / "::")
   */
  advertiseHost?: string;
  /** Largest chunk the server sends. @default DEFAULT_CHUNK_BYTES */
  chunkBytes?: number;
  /**
   * The token every connection must present (it travels in `address`). `false`: none, even when
   * other hosts can connect. @default a random one when bound beyond the loopback, else none
   */
  token?: string | false;
  /**
   * Keep replaced values' tensors (up to the size of the largest value held) and write the next
   * put into them instead of fresh memory. @default true
   */
  recycle?: boolean;
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

/**
 * A TCP server holding the store's values in its process (tensors it allocated and owns). It is
 * also a `WeightStore` for its own process: `put` stores a snapshot (a copy), `get` copies out.
 */
export class StoreServer implements WeightStore {
  readonly #pool = new TensorPool();
  readonly store = new InProcessStore({ owns: true, onRelease: (ts) => this.#pool.retire(ts) });
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #chunkBytes: number;
  readonly #recycle: boolean;
  #token: string | undefined;
  #address: StoreAddress = { host: "", port: 0 };

  private constructor(options: StoreServerOptions) {
    this.#chunkBytes = checkChunk(options.chunkBytes);
    this.#recycle = options.recycle ?? true;
    this.#server = createServer((s) => this.#serve(s));
  }

  static async listen(options: StoreServerOptions = {}): Promise<StoreServer> {
    const s = new StoreServer(options);
    const host = options.host ?? "127.0.0.1";
    s.#server.listen(options.port ?? 0, host);
    await Promise.race([once(s.#server, "listening"), once(s.#server, "error").then(([e]) => Promise.reject(e))]);
    const addr = s.#server.address();
    if (addr === null || typeof addr === "string") throw new StoreError("store server did not bind a TCP port");
    const any = host === "0.0.0.0" || host === "::";
    const loopback = host === "127.0.0.1" || host === "localhost" || host === "::1";
    const token = options.token;
    if (token !== undefined && token !== false && !(typeof token === "string" && token.length >= 16)) {
      await s.close();
      throw new StoreArgumentError("options.token", "must be a string of at least 16 characters, or false", token);
    }
    s.#token = token === false ? undefined : (token ?? (loopback ? undefined : randomBytes(32).toString("hex")));
    s.#address = { host: options.advertiseHost ?? (any ? hostname() : host), port: addr.port, ...(s.#token ? { token: s.#token } : {}) };
    return s;
  }

  /** Where clients connect (structured-cloneable; send it to other processes). */
  get address(): StoreAddress {
    return { ...this.#address };
  }

  /**
   * Publishes a snapshot of `value` from this process: copies it into tensors the server owns
   * (recycled ones when it can), so the caller may keep changing its own tensors afterwards.
   */
  async put(key: string, value: StoreValue): Promise<void> {
    checkKey(key);
    const given = entriesOf(value);
    const targets = given.map(([, t]) => this.#take(t.dtype, t.shape));
    try {
      given.forEach(([, src], i) => copyInto(targets[i]!, src));
    } catch (err) {
      this.#pool.retire(targets);
      throw err;
    }
    this.#publish(key, value instanceof Map ? "stateDict" : "tensor", given.map(([n]) => n), targets);
  }

  /** Copies a value out (into `into` when given, else new tensors). */
  async get<V extends StoreValue = StoreValue>(key: string, options: GetOptions<V> = {}): Promise<V> {
    const e = this.store.peek(checkKey(key));
    const { targets, value } = destinations(key, e.kind, layout(e.entries).handles, options.into);
    targets.forEach((t, i) => copyInto(t, e.entries[i]![1]));
    return value as V;
  }

  keys(prefix = ""): Promise<string[]> {
    return this.store.keys(prefix);
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
    await this.store.close();
    this.#pool.clear();
  }

  #take(dtype: Tensor["dtype"], shape: number[]): Tensor {
    return this.#pool.take(dtype, shape);
  }

  #publish(key: string, kind: "tensor" | "stateDict", names: string[], targets: Tensor[]): void {
    const value: StoreValue = kind === "tensor" ? targets[0]! : new Map(names.map((n, i) => [n, targets[i]!]));
    // Recycle up to one value's worth of memory: the largest value held so far.
    if (this.#recycle) this.#pool.limitBytes = Math.max(this.#pool.limitBytes, targets.reduce((a, t) => a + byteLengthOf(t), 0));
    this.store.putSync(key, value); // published only now, whole
  }

  /** Whether `given` is this server's token (constant time: both sides hashed to one length first). */
  #tokenMatches(given: unknown): boolean {
    if (typeof given !== "string") return false;
    const digest = (t: string) => createHash("sha256").update(t).digest();
    return timingSafeEqual(digest(given), digest(this.#token!));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    let authenticated = this.#token === undefined;
    let put: PendingPut | undefined;
    let queue: Promise<void> = Promise.resolve();
    const finishPut = (p: PendingPut) => {
      put = undefined;
      if (p.bad) {
        this.#pool.retire(p.targets);
        void writeJson(socket, errorReply(p.id, p.bad)).catch(() => {});
        return;
      }
      this.#publish(p.key, p.kind, p.handles.map((h) => h.name), p.targets);
      void writeJson(socket, { id: p.id, ok: true }).catch(() => {});
    };
    new FrameReader(socket, {
      message: (msg) => {
        if (msg.op === "hello" || !authenticated) {
          if (authenticated || (msg.op === "hello" && this.#tokenMatches(msg.token))) {
            authenticated = true;
            void writeJson(socket, { id: msg.id, ok: true }).catch(() => {});
            return;
          }
          const why =
            msg.op === "hello" && msg.token !== undefined
              ? "the token does not match"
              : "it requires the token in its address (StoreServer.address.token) and none was given";
          const refusal = errorReply(msg.id, new StoreConnectionError(`store server refused the connection: ${why}`));
          void writeJson(socket, refusal).finally(() => socket.destroy());
          return;
        }
        if (msg.op === "put") {
          try {
            const key = checkKey(msg.key);
            const handles = msg.tensors as TensorHandle[];
            const targets = handles.map((h) => this.#take(h.dtype, h.shape));
            put = { id: msg.id, key, kind: msg.kind, handles, targets, sink: new ChunkSink(targets.map((t) => this.#pool.bytesOf(t)), msg.checksums !== false) };
            if (put.sink.done) finishPut(put);
          } catch (err) {
            void writeJson(socket, errorReply(msg.id, err)).catch(() => {});
          }
          return;
        }
        queue = queue.then(() => this.#request(socket, msg)).catch(() => void socket.destroy());
      },
      sink: () => (authenticated ? put?.sink : undefined),
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
      if (put) this.#pool.retire(put.targets);
      put = undefined;
    });
  }

  async #request(socket: Socket, msg: { id: number; op: string; key?: string; prefix?: string; checksums?: boolean }): Promise<void> {
    try {
      switch (msg.op) {
        case "get": {
          const e = this.store.peek(checkKey(msg.key));
          // Leased until the last byte is handed to the kernel: a put meanwhile cannot recycle them.
          const tensors = e.entries.map(([, t]) => t);
          const release = this.#pool.lease(tensors);
          try {
            const checksums = msg.checksums !== false;
            await writeJson(socket, { id: msg.id, ok: true, kind: e.kind, tensors: layout(e.entries).handles, checksums });
            await writeChunks(socket, tensors.map((t) => this.#pool.bytesOf(t)), this.#chunkBytes, checksums);
          } finally {
            release();
          }
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
      if (err instanceof StoreConnectionError) throw err;
      await writeJson(socket, errorReply(msg.id, err));
    }
  }
}

/**
 * libtorch's copy_ (threaded, any layout or device): as fast as a memcpy through `bytes()` views
 * for big tensors, without making an external ArrayBuffer per tensor per publish (see tensor-pool.ts).
 */
function copyInto(dst: Tensor, src: Tensor): void {
  if (dst !== src && dst.numel > 0) dst.copy_(src);
}

export interface TcpStoreClientOptions extends StoreAddress {
  /** Largest chunk the client sends. @default DEFAULT_CHUNK_BYTES */
  chunkBytes?: number;
  /** Give up connecting after this long. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * CRC-32 every chunk of this client's puts and ask the server for them on gets. TCP and the
   * link layer already checksum each packet; this catches what they miss, at ~0.25 s per 500 MB
   * on each side here (zlib's crc32 at ~2 GB/s). @default false
   */
  checksums?: boolean;
  /**
   * A request in flight fails with `StoreConnectionError` when no byte moved either way for this
   * long (a peer host that vanished without closing the connection). @default 60000
   */
  idleTimeoutMs?: number;
}

interface Waiter {
  what: string;
  resolve(msg: any): void;
  reject(err: Error): void;
  /** For a get: where the announced bytes go, and the error to report once they are consumed. */
  onHeader?(msg: any): ChunkSink;
}

/** A client of a `StoreServer` (in another process or on another host). */
export class TcpStoreClient implements WeightStore {
  readonly #socket: Socket;
  readonly #chunkBytes: number;
  readonly #checksums: boolean;
  readonly #idleTimeoutMs: number;
  readonly #peer: string;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #waiter: Waiter | undefined;
  #sink: ChunkSink | undefined;
  #closed = false;
  #chunkFailure: { expected: number; got: number } | undefined;
  #getResult: { value: StoreValue; key: string; error?: Error; cleanup(): void } | undefined;

  /** Opens the socket; `connect` waits for it. Chunk payloads are received straight into the destination tensors (`onread`). */
  private constructor(options: TcpStoreClientOptions) {
    this.#chunkBytes = checkChunk(options.chunkBytes);
    this.#checksums = options.checksums ?? false;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#peer = `${options.host}:${options.port}`;
    const reader = new FrameReader(undefined, {
      message: (msg) => {
        const w = this.#waiter;
        if (!w) return;
        if (w.onHeader && msg.ok) {
          this.#sink = w.onHeader(msg); // bytes follow; the waiter resolves when the sink is full
          if (this.#sink.done) this.#settleGet();
          return;
        }
        this.#settle();
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
    const socket = (this.#socket = netConnect({ host: options.host ?? "127.0.0.1", port: options.port, onread: reader.onread }));
    reader.attach(socket);
    socket.setNoDelay(true);
    socket.on("error", (err) => this.#fail(new StoreConnectionError(`store connection to ${this.#peer} failed${this.#during()}: ${err.message}`, { cause: err })));
    socket.on("close", () => this.#fail(new StoreConnectionError(`store connection to ${this.#peer} was closed by the server${this.#during()}`)));
    socket.on("timeout", () => {
      this.#fail(new StoreConnectionError(`store server ${this.#peer} sent and took nothing for ${this.#idleTimeoutMs} ms${this.#during()}; is it alive?`));
      socket.destroy();
    });
  }

  static async connect(options: TcpStoreClientOptions): Promise<TcpStoreClient> {
    if (!Number.isInteger(options.port) || options.port <= 0) throw new StoreArgumentError("options.port", "must be a positive integer", options.port);
    if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs > 0)) throw new StoreArgumentError("options.idleTimeoutMs", "must be a positive number of milliseconds", options.idleTimeoutMs);
    const client = new TcpStoreClient(options);
    const socket = client.#socket;
    const timeout = options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once(socket, "connect"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new StoreConnectionError(`no store server answered at ${options.host}:${options.port} within ${timeout} ms`)), timeout))),
      ]);
    } catch (err) {
      client.#closed = true;
      socket.destroy();
      if (err instanceof StoreConnectionError) throw err;
      throw new StoreConnectionError(`cannot connect to the store server at ${options.host}:${options.port}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    // Every connection opens with a hello carrying the token (if any), so a refusal is a clear
    // error here rather than a reset in the middle of a first put.
    try {
      await client.#run(async () => {
        const reply = client.#await({ what: "hello" });
        await writeJson(socket, { id: client.#nextId++, op: "hello", ...(options.token !== undefined ? { token: options.token } : {}) });
        await reply;
      });
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  async put(key: string, value: StoreValue): Promise<void> {
    checkKey(key);
    const given = entriesOf(value);
    return this.#run(async () => {
      const entries = given.map(([n, t]) => [n, hostContiguous(t)] as [string, Tensor]);
      try {
        const id = this.#nextId++;
        const reply = this.#await({ what: `put('${key}')` });
        const { handles } = layout(entries);
        const checksums = this.#checksums;
        await writeJson(this.#socket, { id, op: "put", key, kind: value instanceof Map ? "stateDict" : "tensor", tensors: handles, checksums });
        await writeChunks(this.#socket, entries.map(([, t]) => bytesOf(t)), this.#chunkBytes, checksums);
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
        what: `get('${key}')`,
        onHeader: (msg) => {
          this.#chunkFailure = undefined;
          const handles = msg.tensors as TensorHandle[];
          const verify = msg.checksums !== false;
          try {
            const { targets, value } = destinations(key, msg.kind, handles, options.into);
            this.#getResult = { value, key, cleanup: () => options.into === undefined && targets.forEach((t) => t.dispose()) };
            return new ChunkSink(targets.map(bytesOf), verify);
          } catch (err) {
            // Consume (and drop) the announced bytes so the connection stays usable, then report.
            const scratch = new Uint8Array(1 << 20);
            const total = handles.reduce((a, h) => a + h.byteLength, 0);
            const parts = Array.from({ length: Math.ceil(total / scratch.byteLength) }, (_, i) => scratch.subarray(0, Math.min(scratch.byteLength, total - i * scratch.byteLength)));
            this.#getResult = { value: undefined as unknown as StoreValue, key, error: err as Error, cleanup: () => {} };
            return new ChunkSink(parts, false);
          }
        },
      });
      await writeJson(this.#socket, { id, op: "get", key, checksums: this.#checksums });
      return (await reply) as V;
    });
  }

  async keys(prefix = ""): Promise<string[]> {
    return this.#run(async () => {
      const reply = this.#await({ what: "keys()" });
      await writeJson(this.#socket, { id: this.#nextId++, op: "keys", prefix });
      return (await reply).keys as string[];
    });
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    return this.#run(async () => {
      const reply = this.#await({ what: `delete('${key}')` });
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

  /** " during get('k') (1048576 of 4194304 bytes received)" for error messages. */
  #during(): string {
    const w = this.#waiter;
    if (!w) return "";
    const s = this.#sink;
    return ` during ${w.what}${s ? ` (${s.received} of ${s.received + s.remaining} bytes received)` : ""}`;
  }

  /** The request is over: stop the idle timer. */
  #settle(): void {
    this.#waiter = undefined;
    this.#socket.setTimeout(0);
  }

  #settleGet(): void {
    const w = this.#waiter;
    const r = this.#getResult;
    const failure = this.#chunkFailure;
    this.#settle();
    this.#sink = this.#getResult = this.#chunkFailure = undefined;
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
    this.#socket.setTimeout(this.#idleTimeoutMs);
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
    this.#sink = undefined;
    this.#getResult?.cleanup();
    this.#getResult = undefined;
    w?.reject(err);
  }
}

function remoteError(e: { name: string; message: string; key?: string }): Error {
  if (e.name === "UnknownKeyError" && e.key !== undefined) return new UnknownKeyError(e.key, "on the store server");
  if (e.name === "ChecksumError") return new ChecksumError(e.key ?? "", `store server: ${e.message}`);
  if (e.name === "StoreConnectionError") return new StoreConnectionError(e.message);
  const err = new StoreError(`store server: ${e.message}`);
  err.name = e.name;
  return err;
}

function checkChunk(n: number | undefined): number {
  const v = n ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new StoreArgumentError("chunkBytes", "must be an integer in [1, 2^31)", n);
  return v;
}
