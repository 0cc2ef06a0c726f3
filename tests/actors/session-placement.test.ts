// Session placement over more than two replicas: a new session goes to the replica with the
// least work running or queued (its load), sessions only break ties — with two replicas the
// session count alone often picks the same one, so these cases use three and four.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SessionRouter } from "../../src/actors/router.ts";

type R = { name: string; load: number; state: string; sessions: number };
const replica = (name: string, load: number, sessions = 0): R => ({ name, load, sessions, state: "healthy" });

test("a new session goes to the least-loaded of several replicas even when it already holds a session (default router)", () => {
  const router = new SessionRouter<R>();
  const [a, b, c] = [replica("a", 4), replica("b", 0, 1), replica("c", 2)];
  assert.equal(router.choose([a, b, c], "s1").name, "b");
  assert.equal(b.sessions, 2);
  b.load = 9;
  assert.equal(router.choose([a, b, c], "s2").name, "c", "the next least loaded");
  c.load = 9;
  assert.equal(router.choose([a, b, c], "s3").name, "a");
  assert.deepEqual([a, b, c].map((r) => r.sessions), [1, 2, 1]);
});

test("equal loads: the fewest sessions, then the first; releases and failures keep the counts", () => {
  const router = new SessionRouter<R>();
  const rs = [replica("a", 1, 2), replica("b", 1, 1), replica("c", 1, 1), replica("d", 3, 0)];
  assert.equal(router.choose(rs, "s1").name, "b");
  assert.equal(router.choose(rs, "s2").name, "c");
  assert.equal(router.choose(rs, "s3").name, "a", "a, b and c tie at 2 sessions: the first");
  router.release("s1");
  router.release("unknown");
  assert.deepEqual(rs.map((r) => r.sessions), [3, 1, 2, 0]);
  rs[0]!.state = "unhealthy";
  rs[3]!.load = 0;
  const healthy = rs.slice(1);
  assert.equal(router.choose(healthy, "s3").name, "d", "re-placed by load when its replica fails");
  assert.deepEqual(rs.map((r) => r.sessions), [2, 1, 2, 1]);
  rs[3]!.load = 5;
  assert.equal(router.choose(healthy, "s3").name, "d", "then sticky");
});
