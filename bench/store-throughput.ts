/**
 * Weight-store throughput: a 500 MB state dict (20 tensors, float32 and bfloat16) moved from
 * this process (the trainer) to a child process (the generator)
 *   - through shared memory (/dev/shm): put here, get there into preallocated tensors;
 *   - over TCP loopback: put here to a StoreActor (a child process), get from another child;
 * and the time a simulated generator (4 concurrent requests of 1 ms tokens) is paused for a
 * weight update, with and without prefetching. Each figure is the median of RUNS runs.
 *
 *   node --import tsx bench/store-throughput.ts [--runs 5] [--mb 500]
 */
import { cpus } from "node:os";
import { liveChildPids } from "../src/actors/index.ts";
import { SharedMemoryStore, StoreActor, TcpStoreClient, VersionedStore, type StateDict } from "../src/store/index.ts";
import { torch } from "../src/torch/index.ts";
import { StoreBenchPeer, type TensorSpec } from "./store-bench-actor.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg("runs", 5);
const MB = arg("mb", 500);
const TENSORS = 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;

// Alternate float32 and bfloat16 tensors of equal byte size.
const specs: TensorSpec[] = Array.from({ length: TENSORS }, (_, i) => {
  const dtype = i % 2 ? "bfloat16" : "float32";
  const bytes = Math.floor((MB * 1e6) / TENSORS / 4096) * 4096;
  return { name: `layers.${i}.weight`, dtype, shape: [bytes / 4096, 4096 / (dtype === "float32" ? 4 : 2)] };
});
const totalBytes = specs.reduce((a, s) => a + s.shape[0]! * 4096, 0);
const stateDict = (v: number): StateDict => new Map(specs.map((s) => [s.name, torch.full(s.shape, v, { dtype: s.dtype })]));

const rows: string[] = [];
const report = (label: string, ms: number[], extra = "") => {
  rows.push(`| ${label} | ${median(ms).toFixed(0)} | ${gbps(totalBytes, median(ms)).toFixed(2)} | ${extra}`);
  console.log(rows[rows.length - 1]);
};

console.log(`state dict: ${specs.length} tensors, ${(totalBytes / 1e6).toFixed(0)} MB; ${cpus().length} cores (${cpus()[0]?.model}); Node ${process.version}; libtorch ${torch.version()}`);
const peer = await StoreBenchPeer.options({ procs: 1 }).asActor();
const shm = SharedMemoryStore.create({ name: `bench-${process.pid}` });
const actor = await StoreActor.options({ procs: 1 }).asActor();
try {
  await peer.prepare.callOne(specs);
  const sd = stateDict(1);

  // ---- shared memory --------------------------------------------------------------------
  const versions = new VersionedStore(shm, { keepLast: 2 });
  const put: number[] = [];
  const get: number[] = [];
  const both: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    for (const t of sd.values()) t.fill_(r + 1);
    const t0 = performance.now();
    await versions.publish(r + 1, sd);
    const putMs = performance.now() - t0;
    const g = await peer.shmGet.callOne(shm.root, versions.keyOf(r + 1), r + 1);
    if (!g.ok) throw new Error("shared-memory read returned wrong values");
    if (r === 0) continue; // warm-up: first touch of the tmpfs pages
    put.push(putMs);
    get.push(g.ms);
    both.push(putMs + g.ms);
  }
  report("shared memory: put (trainer → /dev/shm)", put);
  report("shared memory: get (/dev/shm → generator's tensors, other process)", get);
  report("shared memory: put + get, end to end", both);

  // ---- TCP loopback -----------------------------------------------------------------------
  const address = await actor.address.callOne();
  const client = await TcpStoreClient.connect(address);
  const tput: number[] = [];
  const tget: number[] = [];
  const tboth: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    for (const t of sd.values()) t.fill_(r + 1);
    const t0 = performance.now();
    await client.put("policy/latest", sd);
    const putMs = performance.now() - t0;
    const g = await peer.tcpGet.callOne(address, "policy/latest", r + 1);
    if (!g.ok) throw new Error("TCP read returned wrong values");
    if (r === 0) continue;
    tput.push(putMs);
    tget.push(g.ms);
    tboth.push(putMs + g.ms);
  }
  await client.close();
  report("TCP loopback: put (trainer → StoreActor process)", tput);
  report("TCP loopback: get (StoreActor → generator process)", tget);
  report("TCP loopback: put + get, end to end", tboth);

  // ---- generator pause --------------------------------------------------------------------
  const pause = { prefetch: [] as number[][], inline: [] as number[][] };
  let v = 100;
  for (let r = 0; r <= RUNS; r++) {
    for (const mode of ["prefetch", "inline"] as const) {
      v++;
      for (const t of sd.values()) t.fill_(v);
      await versions.publish(v, sd);
      const res = await peer.simulateUpdate.callOne(shm.root, v, mode === "prefetch");
      if (!res.ok) throw new Error(`update to ${v} did not load the new weights`);
      if (r > 0) pause[mode].push([res.pausedMs, res.drainMs, res.loadMs, res.fetchMs, res.tokensDuringFetch]);
    }
  }
  const col = (xs: number[][], i: number) => median(xs.map((x) => x[i]!));
  const p = pause.prefetch;
  const q = pause.inline;
  console.log(`| generator pause, prefetch then apply | paused ${col(p, 0).toFixed(0)} ms (drain ${col(p, 1).toFixed(1)}, copy into params ${col(p, 2).toFixed(0)}); background fetch ${col(p, 3).toFixed(0)} ms during which ${col(p, 4)} tokens were generated |`);
  console.log(`| generator pause, read from the store under the pause | paused ${col(q, 0).toFixed(0)} ms (drain ${col(q, 1).toFixed(1)}, read ${col(q, 2).toFixed(0)}) |`);
} finally {
  await peer.shutdown();
  await actor.shutdown();
  await shm.close();
}
console.log(rows.join("\n"));
if (liveChildPids().length) throw new Error(`orphans: ${liveChildPids().join(", ")}`);
