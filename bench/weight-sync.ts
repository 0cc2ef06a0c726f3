/**
 * Cross-process weight sync of a SmolLM2-135M-shaped float32 state dict (273 tensors, ~538 MB):
 * trainer process → 1 receiver process, which gets each version into preallocated tensors.
 * One pair of fresh processes per method (so peak RSS is per method), RUNS timed versions after
 * WARMUP untimed ones (fresh pages), medians:
 *   shm           SharedMemoryStore (/dev/shm), same host only
 *   tcp-remote    TcpStoreClient.put to a StoreServer in a third process (this one), get from it
 *   tcp-local     the trainer hosts the StoreServer: publish is a local snapshot, the get one TCP hop
 *   tcp-local-crc as tcp-local with checksums: true (CRC-32 per chunk both ways)
 *   c10d          C10dWeightBroadcaster: Gloo broadcast rank 0 → rank 1
 * "end to end" = publish start in the trainer → last byte in the receiver's tensors.
 *
 *   node --import tsx bench/weight-sync.ts [--runs 5] [--warmup 3] [--methods shm,tcp-remote,tcp-local,tcp-local-crc,c10d]
 */
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { freePort } from "../src/actors/rank-launcher.ts";
import { StoreServer } from "../src/store/index.ts";
import { peakRssMiB } from "./weight-sync-worker.ts";
import { torch } from "../src/torch/index.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const RUNS = Number(arg("runs", "5"));
/** Versions not timed: fresh pages (the store's keepLast 2 + 1 recycled set are all first-touched by version 3). */
const WARMUP = Number(arg("warmup", "3"));
const METHODS = arg("methods", "shm,tcp-remote,tcp-local,tcp-local-crc,c10d").split(",");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function run(env: Record<string, string>): Promise<any> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/weight-sync-worker.ts"], { env: { ...process.env, OMP_NUM_THREADS: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      const line = out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
      if (code !== 0 || !line) reject(new Error(`${env.ROLE} ${env.METHOD} exited ${code}:\n${out}\n${err}`));
      else resolve(JSON.parse(line));
    }),
  );
}

console.log(`${cpus().length} cores (${cpus()[0]?.model}); Node ${process.version}; libtorch ${torch.version()}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log("| method | publish ms | get ms | end to end ms | end to end GB/s | peak RSS trainer / receiver MiB (state dict alone) | load avg |");
console.log("|---|---|---|---|---|---|---|");
for (const method of METHODS) {
  const port = await freePort();
  const server = method === "tcp-remote" ? await StoreServer.listen() : undefined;
  const env = { METHOD: method, RUNS: String(RUNS), WARMUP: String(WARMUP), MASTER_PORT: String(port), SERVER_ADDR: JSON.stringify(server?.address ?? null) };
  const load = loadavg()[0]!;
  try {
    const [tr, rc] = await Promise.all([run({ ...env, ROLE: "trainer" }), run({ ...env, ROLE: "receiver" })]);
    const timed = (rows: any[]) => rows.slice(WARMUP);
    const T = timed(tr.rows);
    const R = timed(rc.rows);
    const publish = median(T.map((r: any) => r.t1 - r.t0));
    const get = method === "c10d" ? NaN : median(R.map((r: any) => r.t3 - r.t2));
    const e2e = median(T.map((r: any, i: number) => R[i].t3 - r.t0));
    const extra = method === "tcp-remote" ? `; server (this process) ${peakRssMiB().toFixed(0)}` : "";
    console.log(
      `| ${method} | ${publish.toFixed(0)} | ${Number.isNaN(get) ? "—" : get.toFixed(0)} | ${e2e.toFixed(0)} | ${(tr.bytes / e2e / 1e6).toFixed(2)} | ${tr.peakRssMiB.toFixed(0)} / ${rc.peakRssMiB.toFixed(0)} (${tr.modelRssMiB.toFixed(0)})${extra} | ${load.toFixed(1)} |`,
    );
    if (method === METHODS[0]) console.log(`(state dict: ${tr.tensors} tensors, ${(tr.bytes / 1e6).toFixed(0)} MB; median of ${RUNS} timed versions after ${WARMUP} warm-up versions)`);
    const fresh = T.length ? tr.rows.slice(0, WARMUP).map((r: any) => (r.t1 - r.t0).toFixed(0)).join(", ") : "";
    console.log(`(${method}: warm-up publishes ${fresh} ms)`);
  } finally {
    await server?.close();
  }
}
