import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { hostname } from "node:os";
import { after, describe, it } from "node:test";
import { ChecksumError, StoreActor, StoreConnectionError, StoreServer, TcpStoreClient, UnknownKeyError, VersionedStore, crc32 } from "../../src/store/index.ts";
import { ChunkSink, FRAME_CHUNK, FRAME_JSON, FrameReader, frameHeader, writeJson } from "../../src/store/wire.ts";
import { type Tensor, torch } from "../../src/torch/index.ts";
import { assertNoOrphans } from "../actors/fixtures/helpers.ts";
import { conformance } from "./fixtures/conformance.ts";
import { StorePeer } from "./fixtures/store-peer.ts";
import { allDtypes, allEqual, describe as describeDict, expectedDescription, versionDictLike } from "./fixtures/values.ts";

conformance("tcp", async () => {
  // Small chunks so every multi-tensor value spans several chunks and tensor boundaries.
  const server = await StoreServer.listen({ chunkBytes: 48 });
  const store = await TcpStoreClient.connect({ ...server.address, chunkBytes: 40 });
  const reader = await TcpStoreClient.connect(server.address);
  return {
    store,
    reader,
    cleanup: async () => {
      await store.close();
      await reader.close();
      await server.close();
    },
  };
});

// The trainer-hosted layout: the server is the writer's own store (puts are local snapshots),
// a client reads over TCP with CRC-32 checks on.
conformance("tcp, trainer-hosted server", async () => {
  const server = await StoreServer.listen({ chunkBytes: 48 });
  const reader = await TcpStoreClient.connect({ ...server.address, checksums: true });
  return {
    store: server,
    reader,
    cleanup: async () => {
      await reader.close();
      await server.close();
    },
  };
});

/** Messages a raw socket receives (JSON frames only). */
function jsonMessages(socket: Socket): any[] {
  const got: any[] = [];
  new FrameReader(socket, { message: (m) => got.push(m), sink: () => undefined, chunkEnd: () => {}, error: () => {} });
  return got;
}

describe("tcp store", () => {
  const pids: number[] = [];
  after(() => assertNoOrphans(pids));

  it("rejects a corrupt chunk from the server with ChecksumError and stays usable", async () => {
    // A fake server: answers the first get with one chunk whose CRC is wrong, then a keys request.
    const fake = createServer((s) => {
      let n = 0;
      new FrameReader(s, {
        message: (m) => {
          if (m.op === "hello") return void writeJson(s, { id: m.id, ok: true }); // every client opens with one
          if (n++ === 0) {
            void writeJson(s, { id: m.id, ok: true, kind: "tensor", tensors: [{ name: "", dtype: "float32", shape: [4], offset: 0, byteLength: 16 }] });
            const payload = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
            s.write(frameHeader(FRAME_CHUNK, 16, crc32(payload) ^ 1));
            s.write(payload);
          } else void writeJson(s, { id: m.id, ok: true, keys: ["still-alive"] });
        },
        sink: () => undefined,
        chunkEnd: () => {},
        error: () => {},
      });
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    const port = (fake.address() as { port: number }).port;
    const client = await TcpStoreClient.connect({ host: "127.0.0.1", port });
    try {
      await assert.rejects(client.get("w"), (e: Error) => e instanceof ChecksumError && /checksum mismatch for 'w' at a chunk received from the store server/.test(e.message));
      assert.deepEqual(await client.keys(), ["still-alive"]);
    } finally {
      await client.close();
      fake.close();
    }
  });

  it("the server refuses a put with a corrupt chunk and publishes nothing", async () => {
    const server = await StoreServer.listen();
    const raw = connect(server.address);
    await once(raw, "connect");
    const replies = jsonMessages(raw);
    const client = await TcpStoreClient.connect(server.address);
    try {
      await writeJson(raw, { id: 1, op: "put", key: "bad", kind: "tensor", tensors: [{ name: "", dtype: "int32", shape: [2], offset: 0, byteLength: 8 }] });
      const payload = Buffer.from(new Int32Array([5, 6]).buffer);
      raw.write(frameHeader(FRAME_CHUNK, 8, crc32(payload) ^ 0xff));
      raw.write(payload);
      while (replies.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(replies[0].id, 1);
      assert.equal(replies[0].error.name, "ChecksumError");
      assert.match(replies[0].error.message, /checksum mismatch for 'bad'/);
      assert.deepEqual(await client.keys(), []);
      await assert.rejects(client.get("bad"), UnknownKeyError);
      // Garbage frame types end that connection only.
      raw.write(frameHeader(7, 0, 0));
      await once(raw, "close");
      assert.deepEqual(await client.keys(), []);
    } finally {
      raw.destroy();
      await client.close();
      await server.close();
    }
  });

  it("connection failures are StoreConnectionErrors", async () => {
    const server = await StoreServer.listen();
    const { port } = server.address;
    const client = await TcpStoreClient.connect(server.address);
    await server.close();
    await assert.rejects(client.keys(), StoreConnectionError);
    await assert.rejects(TcpStoreClient.connect({ host: "127.0.0.1", port }), (e: Error) => e instanceof StoreConnectionError && /cannot connect to the store server/.test(e.message));
    await assert.rejects(TcpStoreClient.connect({ host: "127.0.0.1", port: 0 }), /options.port' must be a positive integer/);
  });

  it("a StoreActor in a child process serves clients in this and another process", async () => {
    const actor = await StoreActor.options({ procs: 1 }).asActor();
    const peer = await StorePeer.options({ procs: 1 }).asActor();
    pids.push(...(actor.pids as number[]), ...(peer.pids as number[]));
    try {
      const address = await actor.address.callOne();
      const client = await TcpStoreClient.connect(address);
      try {
        await client.put("policy/v1", allDtypes(40));
        assert.deepEqual(await peer.tcpRead.callOne(address, "policy/v1"), expectedDescription(40));
        await peer.tcpWrite.callOne(address, "policy/v2", 41);
        const into = allDtypes(0);
        await client.get("policy/v2", { into });
        assert.deepEqual(describeDict(into), expectedDescription(41));
        assert.deepEqual(await actor.keys.callOne("policy/"), ["policy/v1", "policy/v2"]);
        await actor.delete.callOne("policy/v1");
        assert.deepEqual(await client.keys(), ["policy/v2"]);
      } finally {
        await client.close();
      }
    } finally {
      await peer.shutdown();
      await actor.shutdown();
    }
  });

  it("a reader never observes a partial version while a child publishes over TCP", async () => {
    const server = await StoreServer.listen({ chunkBytes: 64 * 1024 });
    const peer = await StorePeer.options({ procs: 1 }).asActor();
    pids.push(...(peer.pids as number[]));
    const client = await TcpStoreClient.connect(server.address);
    try {
      const numel = 32 * 1024;
      const writer = peer.tcpPublishVersions.callOne(server.address, { first: 1, last: 60, numel, keepLast: 2 });
      let done = false;
      void writer.finally(() => (done = true));
      const versions = new VersionedStore(client);
      const into = versionDictLike(numel);
      let reads = 0;
      while (!done) {
        if ((await versions.latestVersion()) === undefined) continue;
        const got = await versions.get("latest", reads % 2 ? { into } : {});
        assert.ok(allEqual(got.value, got.version), `version ${got.version} read whole`);
        reads++;
      }
      assert.equal(await writer, 60);
      assert.ok(reads >= 5, `reader made ${reads} reads`);
    } finally {
      await client.close();
      await peer.shutdown();
      await server.close();
    }
  });

  it("streams a multi-chunk value with the default chunk size", async () => {
    const server = await StoreServer.listen();
    const client = await TcpStoreClient.connect(server.address);
    try {
      const big = torch.arange(3_000_000, undefined, { dtype: "float32" }); // 12 MB: 3 chunks
      await client.put("big", big);
      const got = await client.get<Tensor>("big");
      assert.equal(got.sub(big).abs().max().item(), 0);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe("tcp store: big values, snapshots, recycling, failures", () => {
  /** ~40 MB: float32 and bfloat16 tensors of uneven sizes, one non-contiguous, one empty, a scalar. */
  const bigDict = (seed: number) =>
    new Map<string, Tensor>([
      ["embed", torch.arange(3_000_001, undefined, { dtype: "float32" }).add(seed)],
      ["mlp.t", torch.arange(1_500_000, undefined, { dtype: "float32" }).reshape(1000, 1500).mul(seed).t()],
      ["mlp.bf16", torch.arange(5_000_003, undefined, { dtype: "float32" }).remainder(251).add(seed).to("bfloat16")],
      ["norm", torch.full([577], seed, { dtype: "float32" })],
      ["empty", torch.zeros([0, 7], { dtype: "bfloat16" })],
      ["step", torch.tensor(seed * 1000, { dtype: "int64" })],
    ]);
  const sameDict = (a: Map<string, Tensor>, b: Map<string, Tensor>) => {
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, t] of a) {
      const u = b.get(k)!;
      assert.equal(u.dtype, t.dtype, k);
      assert.deepEqual(u.shape, t.shape, k);
      assert.equal(crc32(u.contiguous().bytes()), crc32(t.contiguous().bytes()), `${k} bytes`);
    }
  };

  for (const checksums of [false, true]) {
    it(`round-trips a 40 MB multi-tensor value both ways with the default chunk size (checksums: ${checksums})`, async () => {
      const server = await StoreServer.listen();
      const writer = await TcpStoreClient.connect({ ...server.address, checksums });
      const reader = await TcpStoreClient.connect({ ...server.address, checksums });
      try {
        const src = bigDict(3);
        await writer.put("remote", src); // client → server
        await server.put("local", bigDict(4)); // trainer-hosted publish
        const into = new Map([...bigDict(0)].map(([k, t]) => [k, t.contiguous().zero_()]));
        assert.equal(await reader.get("remote", { into }), into);
        sameDict(into, src);
        sameDict(await reader.get<Map<string, Tensor>>("local"), bigDict(4));
        sameDict(await server.get<Map<string, Tensor>>("remote"), src);
      } finally {
        await writer.close();
        await reader.close();
        await server.close();
      }
    });
  }

  it("a server bound to every interface advertises this host's name (or the one given)", async () => {
    const any = await StoreServer.listen({ host: "0.0.0.0" });
    const named = await StoreServer.listen({ host: "0.0.0.0", advertiseHost: "127.0.0.1" });
    try {
      assert.equal(any.address.host, hostname());
      assert.equal(named.address.host, "127.0.0.1");
      const client = await TcpStoreClient.connect(named.address);
      await named.put("w", torch.full([3], 5));
      assert.deepEqual((await client.get<Tensor>("w")).toFlatArray(), [5, 5, 5]);
      await client.close();
    } finally {
      await any.close();
      await named.close();
    }
  });

  it("a server other hosts can reach requires the token in its address; without it, or with another, the connection is refused", async () => {
    const exposed = await StoreServer.listen({ host: "0.0.0.0", advertiseHost: "127.0.0.1" });
    const local = await StoreServer.listen();
    const open = await StoreServer.listen({ host: "0.0.0.0", advertiseHost: "127.0.0.1", token: false });
    try {
      const token = exposed.address.token!;
      assert.match(token, /^[0-9a-f]{64}$/, "a random 256-bit token");
      assert.notEqual((await StoreServer.listen({ host: "0.0.0.0" }).then(async (s) => (await s.close(), s.address.token))), token, "a fresh one per server");
      assert.equal(local.address.token, undefined, "loopback only: no token");
      assert.equal(open.address.token, undefined, "token: false opts out");
      await exposed.put("w", torch.full([3], 7));
      const client = await TcpStoreClient.connect(exposed.address);
      assert.deepEqual((await client.get<Tensor>("w")).toFlatArray(), [7, 7, 7]);
      await client.close();
      const { host, port } = exposed.address;
      await assert.rejects(TcpStoreClient.connect({ host, port }), (e: unknown) => e instanceof StoreConnectionError && /refused the connection: it requires the token in its address \(StoreServer\.address\.token\)/.test((e as Error).message));
      await assert.rejects(TcpStoreClient.connect({ host, port, token: "f".repeat(64) }), (e: unknown) => e instanceof StoreConnectionError && /refused the connection: the token does not match/.test((e as Error).message));
      // A raw peer that skips the hello gets the refusal and a closed socket, never the bytes.
      const raw = connect({ host, port });
      await once(raw, "connect");
      const got = jsonMessages(raw);
      await writeJson(raw, { id: 1, op: "get", key: "w" });
      await once(raw, "close");
      assert.equal(got.length, 1);
      assert.match(got[0].error.message, /requires the token/);
      // A client with a token may still use a server without one.
      const extra = await TcpStoreClient.connect({ ...open.address, token: token });
      await extra.close();
      await assert.rejects(StoreServer.listen({ token: "short" }), /options\.token.*at least 16 characters/);
    } finally {
      await exposed.close();
      await local.close();
      await open.close();
    }
  });

  it("a local put is a snapshot, and replaced values' memory is reused", async () => {
    const server = await StoreServer.listen();
    try {
      const src = torch.full([1000], 1);
      await server.put("w", src);
      src.fill_(9);
      assert.deepEqual((await server.get<Tensor>("w")).toFlatArray().slice(0, 2), [1, 1]);
      const first = server.store.peek("w").entries[0]![1].bytes();
      await server.put("w", torch.full([1000], 2)); // the first value's tensor retires to the pool
      await server.put("w2", torch.full([1000], 3)); // ...and is taken for this one
      const reused = server.store.peek("w2").entries[0]![1].bytes();
      // The first value's memory (kept alive by the view) now holds the third value.
      assert.equal(new Float32Array(first.buffer, first.byteOffset, 1)[0], 3);
      assert.equal(new Float32Array(reused.buffer, reused.byteOffset, 1)[0], 3);
      assert.deepEqual((await server.get<Tensor>("w")).toFlatArray().slice(0, 2), [2, 2]);
    } finally {
      await server.close();
    }
  });

  it("a value being streamed to a slow reader is not recycled under it", async () => {
    const server = await StoreServer.listen();
    const raw = connect(server.address);
    await once(raw, "connect");
    try {
      const numel = 4_000_000; // 16 MB: more than the socket buffers hold, so the stream stalls
      await server.put("w", torch.full([numel], 1));
      raw.pause();
      await writeJson(raw, { id: 1, op: "get", key: "w", checksums: false });
      await new Promise((r) => setTimeout(r, 200)); // the server is now blocked mid-stream
      await server.put("w", torch.full([numel], 2)); // retires the streamed value...
      await server.put("x", torch.full([numel], 3)); // ...which must not be taken for this one
      const dst = new Uint8Array(numel * 4);
      let header: any;
      const sink = new ChunkSink([dst], false);
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      new FrameReader(raw, { message: (m) => (header = m), sink: () => sink, chunkEnd: () => sink.done && done(), error: (e) => assert.fail(e) });
      raw.resume();
      await finished;
      assert.equal(header.ok, true);
      const f = new Float32Array(dst.buffer);
      assert.equal(f.every((x) => x === 1), true, "the reader got the whole old value");
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("a connection dropped mid-transfer rejects the get with StoreConnectionError saying how far it got", async () => {
    const fake = createServer((s) => {
      new FrameReader(s, {
        message: (m) => {
          if (m.op === "hello") return void writeJson(s, { id: m.id, ok: true }); // every client opens with one
          void writeJson(s, { id: m.id, ok: true, kind: "tensor", tensors: [{ name: "", dtype: "float32", shape: [1 << 20], offset: 0, byteLength: 4 << 20 }], checksums: false });
          s.write(frameHeader(FRAME_CHUNK, 4 << 20, 0));
          s.write(Buffer.alloc(1 << 20), () => s.destroy()); // a quarter, then gone
        },
        sink: () => undefined,
        chunkEnd: () => {},
        error: () => {},
      });
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    const client = await TcpStoreClient.connect({ host: "127.0.0.1", port: (fake.address() as { port: number }).port });
    try {
      const into = torch.zeros([1 << 20]);
      await assert.rejects(client.get("w", { into }), (e: Error) => e instanceof StoreConnectionError && /closed by the server during get\('w'\) \(1048576 of 4194304 bytes received\)/.test(e.message));
      await assert.rejects(client.keys(), /store client is closed/);
    } finally {
      await client.close();
      fake.close();
    }
  });

  it("a server that stops sending mid-transfer fails the get after idleTimeoutMs instead of hanging", async () => {
    const sockets: Socket[] = [];
    const fake = createServer((s) => {
      sockets.push(s);
      new FrameReader(s, {
        message: (m) => {
          if (m.op === "hello") return void writeJson(s, { id: m.id, ok: true }); // every client opens with one
          void writeJson(s, { id: m.id, ok: true, kind: "tensor", tensors: [{ name: "", dtype: "uint8", shape: [100], offset: 0, byteLength: 100 }], checksums: false });
          s.write(frameHeader(FRAME_CHUNK, 100, 0));
          s.write(Buffer.alloc(10)); // then silence
        },
        sink: () => undefined,
        chunkEnd: () => {},
        error: () => {},
      });
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    const client = await TcpStoreClient.connect({ host: "127.0.0.1", port: (fake.address() as { port: number }).port, idleTimeoutMs: 300 });
    try {
      await new Promise((r) => setTimeout(r, 500)); // idle between requests is fine
      const t0 = Date.now();
      await assert.rejects(client.get("w"), (e: Error) => e instanceof StoreConnectionError && /sent and took nothing for 300 ms during get\('w'\) \(10 of 100 bytes received\)/.test(e.message));
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      await client.close();
      sockets.forEach((s) => s.destroy());
      fake.close();
    }
  });
});

void FRAME_JSON;
