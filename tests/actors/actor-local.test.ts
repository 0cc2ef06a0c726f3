import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Actor,
  type ActorMesh,
  ActorError,
  ActorOptionsError,
  ActorSetupError,
  type Service,
  UnknownEndpointError,
  endpoint,
} from "../../src/actors/index.ts";
import { Counter } from "./fixtures/counter.ts";

describe("in-process actors", () => {
  it("calls endpoints with every adverb", async () => {
    await using mesh = await Counter.options().asActor({ start: 10 });
    assert.equal(mesh.size, 1);
    assert.deepEqual(mesh.pids, [undefined]);
    assert.equal(await mesh.incr.callOne(2), 12);
    assert.deepEqual(await mesh.incr.call(), [13]);
    assert.equal(await mesh.value.choose(), 13);
    mesh.incr.broadcast(7);
    await new Promise((r) => setImmediate(r));
    const streamed = [];
    for await (const item of mesh.value.stream()) streamed.push(item);
    assert.deepEqual(streamed, [{ rank: 0, value: 20 }]);
    const stats = await mesh.stats.callOne();
    assert.equal(stats.pid, process.pid);
    assert.equal(stats.rank, 0);
  });

  it("passes values by reference in-process (no copy)", async () => {
    await using mesh = await Counter.asActor();
    const obj = { a: 1 };
    assert.equal(await mesh.echo.callOne(obj), obj);
  });

  it("gives the caller an ActorError with the cause and a labelled remote stack", async () => {
    await using mesh = await Counter.asActor();
    const err = await mesh.failMe.callOne("nope").then(
      () => assert.fail("should throw"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ActorError);
    assert.equal(err.name, "ActorError");
    assert.equal(err.endpoint, "failMe");
    assert.equal(err.remoteName, "TypeError");
    assert.ok(err.cause instanceof TypeError);
    assert.match(err.message, /Counter\.failMe \(rank 0, in-process\) threw TypeError: nope/);
    assert.match(err.stack ?? "", /\[remote\] .*counter\.ts/);
    // A user exception does not break the actor.
    assert.equal(await mesh.incr.callOne(), 1);
  });

  it("rejects unknown and undecorated endpoints clearly", async () => {
    await using mesh = await Counter.asActor();
    const any = mesh as unknown as Record<string, { callOne(): Promise<unknown>; broadcast(): void }>;
    await assert.rejects(any.nope!.callOne(), (e: unknown) => e instanceof UnknownEndpointError && /has no endpoint 'nope'/.test(e.message));
    await assert.rejects(any.secret!.callOne(), UnknownEndpointError);
    assert.throws(() => any.nope!.broadcast(), UnknownEndpointError);
    assert.equal((mesh as unknown as { then?: unknown }).then, undefined, "a handle must not look like a thenable");
  });

  it("reports setup failures at the launch site", async () => {
    await assert.rejects(Counter.options().asActor({ failSetup: true }), (e: unknown) => {
      assert.ok(e instanceof ActorSetupError);
      assert.match(e.message, /Counter rank 0 failed in setup: RangeError: setup exploded on purpose/);
      return true;
    });
    await assert.rejects(Counter.options().asService({ failSetup: true }), ActorSetupError);
  });

  it("validates options, naming the option", () => {
    assert.throws(() => Counter.options({ procs: -1 }), (e: unknown) => e instanceof ActorOptionsError && /'procs'/.test(e.message));
    assert.throws(() => Counter.options({ numReplicas: 0 }), /'numReplicas'/);
    assert.throws(() => Counter.options({ hosts: 2 }), /'hosts'.*NatsCluster/);
    assert.throws(() => Counter.options({ maxConcurrency: 1.5 }), /'maxConcurrency'/);
  });

  it("rejects endpoints that clash with handle methods", async () => {
    class Clashing extends Actor {
      @endpoint async replicas(): Promise<number> {
        return 1;
      }
    }
    await assert.rejects(Clashing.asActor(), /Clashing\.replicas clashes with a handle method/);
  });

  it("requires static module for child-process placement", async () => {
    class Nomad extends Actor {
      @endpoint async hi(): Promise<string> {
        return "hi";
      }
    }
    await assert.rejects(Nomad.options({ procs: 1 }).asActor(), /static module = import\.meta\.url/);
  });

  it("runs in-process services with route and fanout", async () => {
    await using svc = await Counter.options({ numReplicas: 2 }).asService({ start: 0 });
    assert.deepEqual(await Promise.all([svc.incr.route(1), svc.incr.route(1)]), [1, 1]);
    assert.deepEqual(await svc.value.fanout(), [1, 1]);
    assert.deepEqual(
      svc.replicas().map((r) => r.state),
      ["healthy", "healthy"],
    );
  });
});

// Compile-time checks (never run): types flow from the class to both handle kinds.
export function typeChecks(mesh: ActorMesh<Counter>, svc: Service<Counter>): void {
  const one: Promise<number> = mesh.incr.callOne(1);
  const all: Promise<number[]> = mesh.incr.call(1);
  const routed: Promise<number> = svc.incr.route(2);
  const fanned: Promise<number[]> = svc.value.fanout();
  const stats: Promise<{ pid: number }> = mesh.stats.choose();
  void [one, all, routed, fanned, stats];
  // @ts-expect-error actor handles have no route
  void mesh.incr.route(1);
  // @ts-expect-error service handles have no callOne
  void svc.incr.callOne(1);
  // @ts-expect-error argument types are checked
  void mesh.incr.callOne("one");
  // @ts-expect-error lifecycle methods are not endpoints
  void mesh.setup.callOne();
  // @ts-expect-error unknown endpoint
  void svc.nope.route();
}
