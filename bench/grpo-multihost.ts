/**
 * Wall time of a short GRPO run (tiny model, 2 generator replicas) with the replicas as local child
 * processes (weights through /dev/shm) vs on two host agents on this machine reached through NATS
 * (weights through the controller's TCP store). Runs alternate (local, multi-host, local, ...);
 * the median of each is printed with the range. Both place one libtorch thread per replica.
 *
 *   node --import tsx bench/grpo-multihost.ts [--runs 3] [--steps 2]
 *
 * Needs `nats-server` on PATH. Times include starting the replicas and loading the model in them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadGrpoConfig } from "../src/config/index.ts";
import { runGrpo } from "../apps/grpo/grpo-run.ts";
import { startNats } from "../tests/fixtures/nats-server.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, steps: { type: "string", default: "2" } } });
const runs = Number(values.runs);
const steps = Number(values.steps);
const AGENT = fileURLToPath(new URL("../apps/agent/main.ts", import.meta.url));

function startAgent(url: string, host: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), AGENT, "--nats", url, "--host", host], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TORCHFORGE_NUM_THREADS: "1" }, // as local replicas get
  });
  return new Promise((resolve, reject) => {
    proc.stdout!.once("data", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`agent ${host} exited with ${code}`)));
  });
}

async function timedRun(nats: string | undefined): Promise<{ seconds: number; store: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tf-bench-multihost-"));
  const { config, snake } = loadGrpoConfig({
    data: {
      output_dir: dir,
      placement: "separate",
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", prompt_format: "raw" },
      training: { batch_size: 8, learning_rate: 1e-3, steps, seed: 0 },
      grpo: { n_samples: 4, beta: 0, max_new_tokens: 8, max_prompt_tokens: 24, filter_zero_variance: false, overlap_rollouts: false },
      rewards: ["math"],
      services: { generator: { num_replicas: 2, hosts: nats ? ["hostA", "hostB"] : [] } },
      ...(nats ? { cluster: { nats } } : {}),
      checkpoint: { enable: false, folder: "${output_dir}/ckpt" },
    },
  });
  const t0 = performance.now();
  const r = await runGrpo({ config, rawConfig: snake, progress: false, log: () => undefined });
  return { seconds: (performance.now() - t0) / 1000, store: r.generatorState!.store };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const nats = await startNats();
const agents = [await startAgent(nats.url, "hostA"), await startAgent(nats.url, "hostB")];
const times: Record<"local" | "multihost", number[]> = { local: [], multihost: [] };
const loads: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    for (const kind of ["local", "multihost"] as const) {
      loads.push(loadavg()[0]!);
      const { seconds, store } = await timedRun(kind === "multihost" ? nats.url : undefined);
      times[kind].push(seconds);
      console.log(`run ${i + 1} ${kind}: ${seconds.toFixed(2)} s (store ${store})`);
    }
  }
} finally {
  for (const a of agents) a.kill("SIGTERM");
  nats.proc.kill("SIGTERM");
}
for (const kind of ["local", "multihost"] as const) {
  const t = times[kind];
  console.log(`${kind}: median ${median(t).toFixed(2)} s (${Math.min(...t).toFixed(2)}–${Math.max(...t).toFixed(2)}, n=${t.length})`);
}
console.log(`ratio multihost/local: ${(median(times.multihost) / median(times.local)).toFixed(2)}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
