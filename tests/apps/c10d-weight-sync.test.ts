// cluster.weight_sync (c10d default, tcp) and the controller side of the c10d weight group: a
// replica that fails to join, or never arrives, fails the send with a clear error, never a hang.
// The full path (replicas on two host agents, restarts, a host dying) is tests/apps/grpo-multihost.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { WeightBroadcastError } from "../../src/store/index.ts";
import { torch } from "../../src/torch/index.ts";
import { C10dWeightSync, type WeightGroupJoin, type WeightGroupMembers } from "../../apps/grpo/c10d-weight-sync.ts";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

type Reply = { ready?: true; rank?: number; version?: number; sums?: number[]; error?: string };

/** A replica process (fixtures/weight-group-member.ts) as the members the controller drives. */
class MemberProcess implements WeightGroupMembers {
  readonly child: ChildProcess;
  readonly #replies: Reply[] = [];
  #waiting: ((r: Reply) => void) | undefined;
  dead = false;
  constructor(readonly shapes: [string, number[]][]) {
    this.child = fork(fileURLToPath(new URL("./fixtures/weight-group-member.ts", import.meta.url)), {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, TORCHFORGE_NUM_THREADS: "1" },
    });
    this.child.on("message", (r: Reply) => (this.#waiting ? this.#waiting(r) : this.#replies.push(r)));
    this.child.on("exit", () => {
      this.dead = true;
      this.#waiting?.({ error: "the replica process exited" });
    });
  }
  next(): Promise<Reply> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    if (this.dead) return Promise.resolve({ error: "the replica process exited" });
    return new Promise((resolve) => (this.#waiting = (x) => ((this.#waiting = undefined), resolve(x))));
  }
  async ask(msg: object): Promise<Reply> {
    this.child.send(msg);
    const r = await this.next();
    if (r.error) throw new Error(r.error);
    return r;
  }
  count(): number {
    return this.dead ? 0 : 1;
  }
  join(args: WeightGroupJoin): Promise<Reply> {
    return this.ask({ join: args, shapes: this.shapes });
  }
  receive(): Promise<Reply> {
    return this.ask({ receive: true });
  }
  kill(): Promise<void> {
    if (this.dead) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }
}

const load = (cluster: Record<string, unknown>, grpo: Record<string, unknown> = {}) =>
  loadGrpoConfig({
    data: {
      output_dir: "/tmp/unused",
      placement: "separate",
      model: { preset: "tiny" },
      dataset: { path: "arithmetic:add-1d" },
      grpo: { beta: 0, ...grpo },
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

test("a replica killed in the middle of a transfer fails that send quickly; the next send re-forms the group and delivers", async () => {
  // 256 MB: long enough on loopback that a kill 50 ms into the receive lands before the last byte.
  const shapes: [string, number[]][] = Array.from({ length: 8 }, (_, i) => [`layer${i}.weight`, [4096, 2048]]);
  const sd = new Map(shapes.map(([name, shape], i) => [name, torch.full(shape, i + 1)]));
  // The group's collective timeout: Gloo may hold its send to the dead replica until then.
  const sync = await C10dWeightSync.listen(load({ timeout_s: 60 }, { progress_timeout_s: 8 }));
  const doomed = new MemberProcess(shapes);
  const fresh = new MemberProcess(shapes);
  try {
    await Promise.all([doomed.next(), fresh.next()]); // both ready (tsx start-up outside the timings)
    // The doomed replica joins, then dies while the controller publishes.
    const receive = doomed.receive.bind(doomed);
    doomed.receive = () => {
      setTimeout(() => void doomed.kill(), 50);
      return receive();
    };
    const start = Date.now();
    await assert.rejects(sync.send(1, sd, [doomed]), (e: unknown) => e instanceof WeightBroadcastError && /weight sync \(c10d, group generation 1\) of version 1 failed/.test(e.message));
    const failedAfter = Date.now() - start;
    assert.ok(failedAfter < 6000, `the failure took ${failedAfter} ms: a dead peer must not wait out the 8 s collective timeout`);
    // Its replacement (a restarted replica) joins generation 2 and gets every byte.
    const received: Reply[] = [];
    const receiveFresh = fresh.receive.bind(fresh);
    fresh.receive = async () => {
      const r = await receiveFresh();
      received.push(r);
      return r;
    };
    const resend = Date.now();
    await sync.send(2, sd, [doomed, fresh]);
    // Not held up by the first group's send, still pending in Gloo (it must not hold Node's thread pool).
    assert.ok(Date.now() - resend < 6000, `the next send took ${Date.now() - resend} ms`);
    assert.equal(received.length, 1, "only the live replica received");
    assert.equal(received[0]!.version, 2);
    assert.deepEqual(received[0]!.sums, shapes.map((_, i) => (i + 1) * 4096 * 2048));
    // And the group formed for it carries the next version without re-forming.
    await sync.send(3, sd, [doomed, fresh]);
    assert.equal(received.at(-1)!.version, 3);
  } finally {
    await Promise.all([doomed.kill(), fresh.kill()]);
    await sync.close();
    for (const t of sd.values()) t.dispose();
  }
});
