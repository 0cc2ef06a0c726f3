/**
 * The TCP store's framing. Every frame is
 *   [u8 type][u32 LE payload length][u32 LE crc32(payload)][payload]
 * type 1 carries a JSON control message, type 2 a chunk of tensor bytes. Tensor bytes follow the
 * control message that announced them, tensor by tensor in order, cut into chunks of at most
 * `chunkBytes`; each chunk's CRC is checked on arrival.
 */
import type { Socket } from "node:net";
import { crc32 } from "./crc32.ts";
import { StoreConnectionError } from "./errors.ts";

export const FRAME_JSON = 1;
export const FRAME_CHUNK = 2;
const HEADER = 9;
/** Largest JSON control message accepted (a manifest of a big state dict fits easily). */
const MAX_JSON = 64 * 1024 * 1024;

export function frameHeader(type: number, length: number, crc: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h.writeUInt8(type, 0);
  h.writeUInt32LE(length, 1);
  h.writeUInt32LE(crc >>> 0, 5);
  return h;
}

/** Writes with backpressure: waits for 'drain' when the socket's buffer is full. */
export async function writeFrame(socket: Socket, type: number, payload: Uint8Array, crc = crc32(payload)): Promise<void> {
  socket.write(frameHeader(type, payload.byteLength, crc));
  if (!socket.write(payload)) await drained(socket);
}

export function writeJson(socket: Socket, message: unknown): Promise<void> {
  return writeFrame(socket, FRAME_JSON, Buffer.from(JSON.stringify(message)));
}

/** Streams `parts` as chunks of at most `chunkBytes`, each with its CRC. */
export async function writeChunks(socket: Socket, parts: Uint8Array[], chunkBytes: number): Promise<void> {
  for (const bytes of parts) {
    for (let off = 0; off < bytes.byteLength; off += chunkBytes) {
      await writeFrame(socket, FRAME_CHUNK, bytes.subarray(off, Math.min(off + chunkBytes, bytes.byteLength)));
    }
  }
}

function drained(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.reject(new StoreConnectionError("store connection closed while sending"));
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new StoreConnectionError("store connection closed while sending"));
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

/** Receives chunk bytes into a list of destinations in order (one copy from the socket buffer). */
export class ChunkSink {
  #i = 0;
  #off = 0;
  constructor(private readonly parts: Uint8Array[]) {
    this.#skipEmpty();
  }
  get remaining(): number {
    let r = 0;
    for (let i = this.#i; i < this.parts.length; i++) r += this.parts[i]!.byteLength;
    return r - this.#off;
  }
  get done(): boolean {
    return this.#i >= this.parts.length;
  }
  /** Copies `piece` in; returns the crc32 of what was written, continued from `crc`. */
  write(piece: Uint8Array, crc: number): number {
    let p = 0;
    while (p < piece.byteLength) {
      const dst = this.parts[this.#i];
      if (!dst) throw new StoreConnectionError(`peer sent ${piece.byteLength - p} bytes more than announced`);
      const n = Math.min(dst.byteLength - this.#off, piece.byteLength - p);
      const src = piece.subarray(p, p + n);
      dst.set(src, this.#off);
      crc = crc32(src, crc);
      this.#off += n;
      p += n;
      if (this.#off === dst.byteLength) {
        this.#i++;
        this.#off = 0;
        this.#skipEmpty();
      }
    }
    return crc;
  }
  #skipEmpty(): void {
    while (this.#i < this.parts.length && this.parts[this.#i]!.byteLength === 0) this.#i++;
  }
}

export interface FrameHandlers {
  message(msg: any): void;
  /** Where the next chunk's bytes go; absent means the peer sent bytes nobody asked for. */
  sink(): ChunkSink | undefined;
  /** A chunk arrived whole; `ok` is false when its CRC did not match. */
  chunkEnd(ok: boolean, expected: number, got: number): void;
  error(err: Error): void;
}

/** Parses frames from a socket, copying chunk payloads straight into the current sink. */
export class FrameReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #chunkLeft = 0;
  #chunkCrc = 0;
  #chunkExpected = 0;
  #sink: ChunkSink | undefined;

  constructor(socket: Socket, private readonly h: FrameHandlers) {
    socket.on("data", (buf: Buffer) => {
      try {
        this.#feed(buf);
      } catch (err) {
        h.error(err as Error);
        socket.destroy();
      }
    });
  }

  #feed(buf: Buffer): void {
    while (buf.byteLength > 0) {
      if (this.#chunkLeft > 0) {
        const n = Math.min(this.#chunkLeft, buf.byteLength);
        this.#chunkCrc = this.#sink!.write(buf.subarray(0, n), this.#chunkCrc);
        this.#chunkLeft -= n;
        buf = buf.subarray(n);
        if (this.#chunkLeft === 0) this.h.chunkEnd(this.#chunkCrc === this.#chunkExpected, this.#chunkExpected, this.#chunkCrc);
        continue;
      }
      this.#pending.push(buf);
      this.#pendingBytes += buf.byteLength;
      buf = Buffer.alloc(0);
      if (this.#pendingBytes < HEADER) return;
      const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
      const type = all.readUInt8(0);
      const length = all.readUInt32LE(1);
      const crc = all.readUInt32LE(5);
      if (type === FRAME_CHUNK) {
        const sink = this.h.sink();
        if (!sink) throw new StoreConnectionError("peer sent tensor bytes that no request announced");
        this.#sink = sink;
        this.#chunkLeft = length;
        this.#chunkCrc = 0;
        this.#chunkExpected = crc;
        if (length === 0) this.h.chunkEnd(crc === 0, crc, 0);
        buf = all.subarray(HEADER);
        continue;
      }
      if (type !== FRAME_JSON) throw new StoreConnectionError(`peer sent an unknown frame type ${type}; is it a torchforge store?`);
      if (length > MAX_JSON) throw new StoreConnectionError(`control message of ${length} bytes exceeds ${MAX_JSON}`);
      if (all.byteLength < HEADER + length) {
        this.#pending = [all];
        this.#pendingBytes = all.byteLength;
        return;
      }
      const payload = all.subarray(HEADER, HEADER + length);
      if (crc32(payload) !== crc) throw new StoreConnectionError("control message failed its checksum");
      buf = all.subarray(HEADER + length);
      this.h.message(JSON.parse(payload.toString("utf8")));
    }
  }
}
