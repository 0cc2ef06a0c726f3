/**
 * One side of bench/weight-sync.ts, in its own process: ROLE=trainer publishes RUNS+1 versions
 * of a SmolLM2-135M-shaped float32 state dict by METHOD; ROLE=receiver gets each into
 * preallocated tensors. The two meet at a c10d TCPStore on MASTER_PORT (also the Gloo
 * rendezvous for METHOD=c10d). Times are absolute (performance.timeOrigin + now), so the
 * orchestrator can compute publish start → weights in the receiver. Prints one JSON line.
 */
import { readFileSync } from "node:fs";
import { C10dWeightBroadcaster, SharedMemoryStore, StoreServer, TcpStoreClient, VersionedStore, type StateDict, type WeightStore } from "../src/store/index.ts";
import { distributed, torch } from "../src/torch/index.ts";

const role = process.env.ROLE as "trainer" | "receiver";
const method = process.env.METHOD as "shm" | "tcp-local" | "tcp-local-crc" | "tcp-remote" | "c10d";
const runs = Number(process.env.RUNS ?? 5) + Number(process.env.WARMUP ?? 3) - 1; // versions 0..runs
const port = Number(process.env.MASTER_PORT);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * This process's peak RSS in MiB: VmHWM, not getrusage's ru_maxrss, which a child inherits from
 * its parent's RSS at fork (a 1.7 GB orchestrator made every later child report >= 1.7 GB).
 */
export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** SmolLM2-135M: hidden 576, 30 layers, MLP 1536, 9 heads / 3 KV heads of 64, vocab 49152 (tied head). */
export function smolLm2Shapes(): [string, number[]][] {
  const h = 576;
  const kv = 192;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [49152, h]]];
  for (let l = 0; l < 30; l++) {
    const p = `model.layers.${l}`;
    out.push(
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.self_attn.q_proj.weight`, [h, h]],
      [`${p}.self_attn.k_proj.weight`, [kv, h]],
      [`${p}.self_attn.v_proj.weight`, [kv, h]],
      [`${p}.self_attn.o_proj.weight`, [h, h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
      [`${p}.mlp.gate_proj.weight`, [1536, h]],
      [`${p}.mlp.up_proj.weight`, [1536, h]],
      [`${p}.mlp.down_proj.weight`, [h, 1536]],
    );
  }
  out.push(["model.norm.weight", [h]]);
  return out;
}

if (process.env.ROLE !== undefined) {
  torch.setNumThreads(1);
  const sd: StateDict = new Map(smolLm2Shapes().map(([n, s]) => [n, torch.zeros(s)]));
  const rssModel = process.memoryUsage().rss;
  const store = new distributed.TCPStore({ host: "127.0.0.1", port, isServer: role === "trainer", worldSize: 2, timeoutMs: 120_000 });
  const group = method === "c10d" ? distributed.initProcessGroup({ store, rank: role === "trainer" ? 0 : 1, worldSize: 2, timeoutMs: 120_000 }) : undefined;
  const bc = group ? new C10dWeightBroadcaster(sd, { group }) : undefined;
  const rows: Record<string, number>[] = [];
  /**
   * Waits without blocking the event loop (a trainer-hosted server must keep serving the get).
   * Polls slowly: each poll is a synchronous store round trip that stalls this event loop, and
   * the poll interval does not enter the timings (they are absolute timestamps).
   */
  const waitCount = async (key: string, n: number) => {
    while (store.add(key, 0) < n) await sleep(25);
  };

  if (role === "trainer") {
    let publishTo: WeightStore | undefined;
    let shm: SharedMemoryStore | undefined;
    let server: StoreServer | undefined;
    let where: unknown;
    if (method === "shm") {
      shm = SharedMemoryStore.create({ name: `weight-sync-${process.pid}` });
      publishTo = shm;
      where = shm.root;
    } else if (method === "tcp-local" || method === "tcp-local-crc") {
      server = await StoreServer.listen();
      publishTo = server; // publish = a local snapshot; the receiver pulls over TCP
      where = server.address;
    } else if (method === "tcp-remote") {
      const address = JSON.parse(process.env.SERVER_ADDR!);
      publishTo = await TcpStoreClient.connect(address);
      where = address;
    }
    const versions = publishTo ? new VersionedStore(publishTo, { keepLast: 2 }) : undefined;
    for (let r = 0; r <= runs; r++) {
      for (const t of sd.values()) t.fill_(r + 1);
      if (bc) await waitCount("ready", r + 1);
      const t0 = now();
      if (bc) await bc.publish(r + 1, sd);
      else await versions!.publish(r + 1, sd);
      const t1 = now();
      if (!bc) store.set(`pub/${r}`, JSON.stringify({ where, version: r + 1 }));
      await waitCount("got", r + 1);
      rows.push({ t0, t1 });
    }
    await publishTo?.close();
    await shm?.close();
    await server?.close();
  } else {
    let reader: VersionedStore | undefined;
    for (let r = 0; r <= runs; r++) {
      let t2: number;
      let version: number;
      if (bc) {
        store.add("ready", 1);
        t2 = now();
        version = await bc.receive(sd);
      } else {
        const pub = JSON.parse(store.get(`pub/${r}`)) as { where: any; version: number };
        t2 = now();
        if (reader === undefined) {
          const client = method === "shm" ? SharedMemoryStore.open({ root: pub.where }) : await TcpStoreClient.connect({ ...pub.where, checksums: method === "tcp-local-crc" });
          reader = new VersionedStore(client);
        }
        version = (await reader.get(pub.version, { into: sd })).version;
      }
      const t3 = now();
      // Cheap check: first and last element of every tensor hold the version.
      const ok = version === r + 1 && [...sd.values()].every((t) => { const f = t.flatten(); return f.select(0, 0).item() === r + 1 && f.select(0, -1).item() === r + 1; });
      if (!ok) throw new Error(`run ${r}: receiver holds wrong values (version ${version})`);
      rows.push({ t2, t3 });
      store.add("got", 1);
    }
    await reader?.store.close();
  }
  bc?.dispose();
  group?.destroy();
  const bytes = [...sd.values()].reduce((a, t) => a + t.numel * 4, 0);
  console.log(JSON.stringify({ role, method, bytes, tensors: sd.size, rows, peakRssMiB: peakRssMiB(), modelRssMiB: rssModel / 2 ** 20 }));
  if (role === "trainer") await sleep(200); // the receiver's last store calls reach a live server
  store.close();
}
