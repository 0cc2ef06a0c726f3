// cluster.weight_sync (c10d default, tcp) and the controller side of the c10d weight group: a
// replica that fails to join, or never arrives, fails the send with a clear error, never a hang.
// The full path (replicas on two host agents, restarts, a host dying) is tests/apps/grpo-multihost.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { WeightBroadcastError } from "../../src/store/index.ts";
import { torch } from "../../src/torch/index.ts";
import { C10dWeightSync, type WeightGroupJoin } from "../../apps/grpo/c10d-weight-sync.ts";

const load = (cluster: Record<string, unknown>) =>
  loadGrpoConfig({
    data: {
      output_dir: "/tmp/unused",
      placement: "separate",
      model: { preset: "tiny" },
      dataset: { path: "arithmetic:add-1d" },
      grpo: { beta: 0 },
      services: { generator: { num_replicas: 1, hosts: ["hostA"] } },
      cluster: { nats: "nats://127.0.0.1:4222", ...cluster },
    },
  }).config;

test("cluster.weight_sync defaults to c10d, takes tcp, refuses anything else naming the key", () => {
  assert.equal(load({}).cluster!.weightSync, "c10d");
  assert.equal(load({ weight_sync: "tcp" }).cluster!.weightSync, "tcp");
  assert.throws(() => load({ weight_sync: "nccl" }), /cluster\.weight_sync/);
});

test("a replica that fails to join, or never arrives, fails the send with WeightBroadcastError within the rendezvous timeout", async () => {
  const sync = await C10dWeightSync.listen(load({ timeout_s: 0.4 }));
  const sd = new Map([["w", torch.zeros([4])]]);
  try {
    const joins: WeightGroupJoin[] = [];
    const failing = { count: () => 1, join: async (a: WeightGroupJoin) => {
        joins.push(a);
        throw new Error("boom");
      }, receive: async () => 0 };
    await assert.rejects(sync.send(1, sd, [failing]), (e: unknown) => e instanceof WeightBroadcastError && /generation 1 \(1 replicas.*a replica failed to join: boom/.test(e.message));
    assert.equal(joins[0]!.worldSize, 2);
    assert.equal(joins[0]!.host, "127.0.0.1", "loopback NATS: the rendezvous is advertised on the loopback");

    // Never arrives: bounded by cluster.timeout_s; the next send forms a new generation.
    const silent = { count: () => 2, join: () => new Promise<never>(() => {}), receive: async () => 0 };
    const start = Date.now();
    await assert.rejects(sync.send(2, sd, [silent]), (e: unknown) => e instanceof WeightBroadcastError && /generation 2 \(2 replicas.*0 of 2 replicas arrived within 400 ms \(cluster\.timeout_s\)/.test(e.message));
    assert.ok(Date.now() - start < 5000, `failed after ${Date.now() - start} ms`);

    // No live replica: nothing to send (each loads the version when it restarts).
    await sync.send(3, sd, [{ count: () => 0, join: () => assert.fail("no join"), receive: () => assert.fail("no receive") }]);
  } finally {
    await sync.close();
    sd.get("w")!.dispose();
  }
});
