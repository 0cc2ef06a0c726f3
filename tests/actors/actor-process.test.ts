import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  ActorDiedError,
  ActorError,
  ActorSetupError,
  SerializationError,
  type SupervisionEvent,
  UnknownEndpointError,
} from "../../src/actors/index.ts";
import { Counter } from "./fixtures/counter.ts";
import { assertNoOrphans, isAlive, waitFor } from "./fixtures/helpers.ts";

describe("actors in child processes", () => {
  const seen: number[] = [];
  after(() => assertNoOrphans(seen));

  it("runs each rank in its own process and calls them with every adverb", async () => {
    const mesh = await Counter.options({ procs: 2 }).asActor({ start: 1 });
    const pids = mesh.pids as number[];
    seen.push(...pids);
    assert.equal(mesh.size, 2);
    assert.equal(new Set(pids).size, 2);
    assert.ok(pids.every((p) => p !== process.pid && isAlive(p)));
    assert.deepEqual(await mesh.incr.call(2), [3, 3]);
    const stats = await mesh.stats.call();
    assert.deepEqual(stats.map((s) => s.rank), [0, 1]);
    assert.deepEqual(stats.map((s) => s.pid), pids);
    // choose alternates ranks
    await mesh.incr.choose(10);
    await mesh.incr.choose(100);
    assert.deepEqual((await mesh.value.call()).sort((a, b) => a - b), [13, 103]);
    mesh.incr.broadcast(1);
    const streamed = [];
    for await (const item of mesh.value.stream()) streamed.push(item);
    assert.deepEqual(streamed.map((s) => s.rank).sort(), [0, 1]);
    await assert.rejects(mesh.incr.callOne(), /callOne needs a single-rank mesh \(size 2\)/);
    // Structured clone: nested data, Maps and Dates round-trip.
    const data = { m: new Map([["k", [1, 2]]]), d: new Date(0), big: 10n };
    assert.deepEqual(await mesh.echo.choose(data), data);
    await mesh.shutdown();
    await assertNoOrphans(pids);
  });

  it("propagates endpoint errors with the remote stack; the process survives", async () => {
    await using mesh = await Counter.options({ procs: 1 }).asActor();
    seen.push(...(mesh.pids as number[]));
    const err = await mesh.failMe.callOne("remote boom").catch((e: unknown) => e);
    assert.ok(err instanceof ActorError);
    assert.equal(err.pid, mesh.pids[0]);
    assert.ok(err.cause instanceof Error);
    assert.equal((err.cause as Error).name, "TypeError");
    assert.match(err.message, /Counter\.failMe \(rank 0, pid \d+\) threw TypeError: remote boom/);
    assert.match(err.stack ?? "", /remote stack[\s\S]*\[remote\] TypeError: remote boom[\s\S]*\[remote\] .*counter\.ts/);
    assert.equal(await mesh.incr.callOne(), 1);
  });

  it("gives clear errors for unknown endpoints and unserialisable values", async () => {
    await using mesh = await Counter.options({ procs: 1 }).asActor();
    seen.push(...(mesh.pids as number[]));
    const any = mesh as unknown as Record<string, { callOne(...a: unknown[]): Promise<unknown> }>;
    await assert.rejects(any.nope!.callOne(), (e: unknown) => e instanceof UnknownEndpointError && /Counter has no endpoint 'nope'/.test(e.message));
    await assert.rejects(mesh.echo.callOne(() => 1), (e: unknown) => {
      assert.ok(e instanceof SerializationError);
      assert.match(e.message, /Counter\.echo: argument 0 \(a function\) cannot be sent to another process/);
      return true;
    });
    await assert.rejects(mesh.returnFunction.callOne(), (e: unknown) => e instanceof SerializationError && /the result cannot be sent/.test(e.message));
    // The actor is still fine.
    assert.equal(await mesh.incr.callOne(5), 5);
  });

  it("reports a setup failure in a child and leaves no process behind", async () => {
    await assert.rejects(Counter.options({ procs: 2 }).asActor({ failSetup: true }), (e: unknown) => {
      assert.ok(e instanceof ActorSetupError);
      assert.match(e.message, /failed in setup: RangeError: setup exploded on purpose/);
      assert.match(e.stack ?? "", /\[remote\].*counter\.ts/);
      return true;
    });
    await assertNoOrphans([]);
  });

  it("rejects unserialisable constructor arguments before forking", async () => {
    await assert.rejects(
      Counter.options({ procs: 1 }).asActor({ start: 1, failSetup: (() => true) as unknown as boolean }),
      /Counter\.constructor: argument 0 cannot be sent/,
    );
  });

  it("detects a SIGKILLed rank within a second and tells the owner", async () => {
    const mesh = await Counter.options({ procs: 2 }).asActor();
    const pids = mesh.pids as number[];
    seen.push(...pids);
    const events: SupervisionEvent[] = [];
    mesh.onFailure((e) => events.push(e));
    const pending = mesh.slowIncr.call(5000);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    process.kill(pids[1]!, "SIGKILL");
    await assert.rejects(pending, (e: unknown) => e instanceof ActorDiedError && /rank 1 \(pid \d+\) died: killed by SIGKILL/.test(e.message));
    await waitFor(() => events.length === 1, "the supervision event", 1000);
    assert.ok(Date.now() - t0 < 1000, `detected after ${Date.now() - t0} ms`);
    assert.equal(events[0]!.rank, 1);
    // Calls to the dead rank fail fast; the live rank still answers.
    await assert.rejects(mesh.value.call(), ActorDiedError);
    await mesh.shutdown();
    await assertNoOrphans(pids);
  });
});
