import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeastLoadedRouter, RoundRobinRouter, SessionRouter, type Routable } from "../../src/actors/router.ts";

const replica = (name: string, load: number, sessions = 0, state = "healthy") => ({ name, load, sessions, state });
type R = Routable & { name: string; state: string };

describe("routers", () => {
  it("round-robin cycles through the healthy replicas it is given", () => {
    const rr = new RoundRobinRouter();
    const set = [replica("a", 0), replica("b", 9), replica("c", 0)];
    assert.deepEqual([0, 1, 2, 3].map(() => rr.choose(set).name), ["a", "b", "c", "a"]);
  });

  it("least-loaded picks the smallest load, then the fewest sessions, then the first", () => {
    const ll = new LeastLoadedRouter();
    assert.equal(ll.choose([replica("a", 3), replica("b", 1), replica("c", 2)]).name, "b");
    assert.equal(ll.choose([replica("a", 1, 2), replica("b", 1, 1), replica("c", 1, 1)]).name, "b");
  });

  it("sessions stick to their replica, move when it is unhealthy, and keep the session counts", () => {
    const router = new SessionRouter<R>(new LeastLoadedRouter());
    const a = replica("a", 0);
    const b = replica("b", 0);
    assert.equal(router.choose([a, b], "s1").name, "a");
    assert.equal(router.choose([a, b], "s2").name, "b", "a new session avoids the replica that already has one");
    a.load = 5;
    assert.equal(router.choose([a, b], "s1").name, "a", "sticky even when busier");
    a.state = "recovering";
    assert.equal(router.choose([b], "s1").name, "b", "re-pinned when its replica failed");
    assert.deepEqual([a.sessions, b.sessions], [0, 2]);
    router.release("s1");
    router.release("s1");
    assert.deepEqual([a.sessions, b.sessions], [0, 1], "releasing twice counts once");
  });
});
