import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { ChecksumError, StoreActor, StoreConnectionError, StoreServer, TcpStoreClient, UnknownKeyError, VersionedStore, crc32 } from "../../src/store/index.ts";
import { FRAME_CHUNK, FRAME_JSON, FrameReader, frameHeader, writeJson } from "../../src/store/wire.ts";
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

void FRAME_JSON;
