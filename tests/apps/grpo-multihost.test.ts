/**
 * GRPO with generator replicas (and the reference model) on other hosts: a NATS server and two
 * host agents (`forge agent`, as child processes named hostA and hostB) stand in for two
 * machines. Needs Debian's `nats-server` (scripts/setup.sh installs it); skipped with a note when
 * it is missing.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { liveChildPids } from "../../src/actors/index.ts";
import { loadGrpoConfig } from "../../src/config/index.ts";
import { readMetricsJsonl } from "../../src/observability/index.ts";
import { runGrpo, GrpoConfigError } from "../../apps/grpo/grpo-run.ts";
import { isAlive, waitFor } from "../actors/fixtures/helpers.ts";
import { startNats } from "../fixtures/nats-server.ts";

const haveNats = spawnSync("nats-server", ["--version"]).status === 0;
const AGENT = fileURLToPath(new URL("../../apps/agent/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

/** `forge agent --nats URL --host NAME`, one libtorch thread per actor process (2 cores here). */
function startAgent(url: string, host: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", TSX, AGENT, "--nats", url, "--host", host], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TORCHFORGE_NUM_THREADS: "1" },
  });
  return new Promise((resolve, reject) => {
    proc.stdout!.once("data", (d: Buffer) => (/ready/.test(String(d)) ? resolve(proc) : reject(new Error(`agent ${host}: ${d}`))));
    proc.once("exit", (code) => reject(new Error(`agent ${host} exited with ${code}`)));
  });
}

/** Child pids of `parent`, read from /proc (a host agent's actor processes). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function config(
  dir: string,
  o: { nats?: string; steps: number; genHosts: string[]; ref: Record<string, unknown>; timeoutS?: number; hostTimeoutS?: number; lora?: boolean; weightSync?: "c10d" | "tcp" },
) {
  return loadGrpoConfig({
    data: {
      output_dir: dir,
      placement: "separate",
      model: { preset: "tiny", seed: 1 },
      dataset: { path: "arithmetic:add-1d", split: "train", prompt_format: "raw" },
      training: { batch_size: 8, learning_rate: o.lora ? 1e-2 : 1e-3, steps: o.steps, seed: 0 },
      // Lockstep rollouts (no overlap): the run is reproducible, so two runs can be compared.
      grpo: { n_samples: 4, beta: 0.1, max_new_tokens: 8, max_prompt_tokens: 24, filter_zero_variance: false, overlap_rollouts: false, progress_timeout_s: 60 },
      // LoRA: a reward that varies within a group, so the adapters' B moves from zero.
      rewards: o.lora ? ["math", "tests/apps/fixtures/text-hash-reward.ts#textHashReward"] : ["math"],
      ...(o.lora ? { lora: { r: 4, alpha: 8, target_modules: ["q_proj", "v_proj"], save_merged: false } } : {}),
      services: { generator: { num_replicas: 2, hosts: o.genHosts }, ref_model: o.ref },
      ...(o.nats ? { cluster: { nats: o.nats, timeout_s: o.timeoutS ?? 10, host_timeout_s: o.hostTimeoutS ?? 2, ...(o.weightSync ? { weight_sync: o.weightSync } : {}), ...(o.weightSync === "tcp" ? { store_bind: "0.0.0.0", store_host: "127.0.0.1" } : {}) } } : {}),
      checkpoint: { enable: false, folder: "${output_dir}/ckpt" },
    },
  });
}

describe("GRPO across hosts (NATS + host agents)", { skip: haveNats ? false : "nats-server not installed (apt-get install nats-server)" }, () => {
  let nats: { proc: ChildProcess; url: string };
  const agents = new Map<string, ChildProcess>();
  /** Every actor process seen under an agent, by host. */
  const seen = new Map<string, Set<number>>();
  let watcher: NodeJS.Timeout;

  before(async () => {
    nats = await startNats();
    for (const host of ["hostA", "hostB"]) {
      agents.set(host, await startAgent(nats.url, host));
      seen.set(host, new Set());
    }
    watcher = setInterval(() => {
      for (const [host, a] of agents) for (const p of childrenOf(a.pid!)) seen.get(host)!.add(p);
    }, 25);
  });

  /** The agents run no actor process any more (an exit is reaped within a moment). */
  const noActorsLeft = (lines: string[] = []) =>
    waitFor(() => [...agents.values()].every((a) => childrenOf(a.pid!).length === 0), `the agents' actor processes to exit\n${lines.join("\n")}`, 3000);

  after(async () => {
    clearInterval(watcher);
    for (const a of agents.values()) a.kill("SIGTERM");
    await waitFor(() => [...agents.values()].every((a) => a.exitCode !== null || a.signalCode !== null), "agents to exit", 10_000);
    nats?.proc.kill("SIGTERM");
  });

  it("2 generator replicas on hostA and hostB and the ref model on hostB: c10d (default) and TCP weight sync, trainer's weights everywhere, same KL as in-controller", async () => {
    const run = async (ref: Record<string, unknown>, weightSync?: "tcp") => {
      const dir = mkdtempSync(join(tmpdir(), "tf-multihost-"));
      const { config: cfg, snake } = config(dir, { nats: nats.url, steps: 2, genHosts: ["hostA", "hostB"], ref, weightSync });
      const lines: string[] = [];
      const result = await runGrpo({ config: cfg, rawConfig: snake, progress: false, log: (l) => lines.push(l) });
      return { result, lines, metrics: readMetricsJsonl(join(dir, "metrics.jsonl")) };
    };
    const remote = await run({ hosts: ["hostB"] });
    const g = remote.result.generatorState!;
    assert.equal(remote.result.steps, 2);
    assert.equal(g.store, "c10d", "remote replicas get weights by a c10d broadcast by default, not /dev/shm");
    assert.deepEqual(g.hosts, ["hostA", "hostB"], "replica i on hosts[i]");
    g.pids.forEach((pid, i) => assert.ok(seen.get(g.hosts[i]!)!.has(pid), `replica ${i} (pid ${pid}) ran under ${g.hosts[i]}'s agent`));
    assert.deepEqual(g.versions, [remote.result.policyVersion, remote.result.policyVersion]);
    for (const c of g.checksums) assert.ok(Math.abs(c - g.trainerChecksum) <= 1e-9 * g.trainerChecksum, `replica |w| ${c} vs trainer ${g.trainerChecksum}`);
    const refLine = remote.lines.find((l) => l.startsWith("reference model:"));
    const refPid = Number(/pid (\d+) on hostB/.exec(refLine ?? "")?.[1]);
    assert.ok(seen.get("hostB")!.has(refPid), `the reference model ran under hostB's agent: ${refLine}`);

    // The same run with the reference model in the controller and weights through the TCP store
    // (bound to every interface, so the replicas must present its token, which their address carries):
    // every replica holds the trainer's weights, and the KL is the same step by step (so are the
    // weights the two syncs delivered: the rollouts, and so the updates, would differ otherwise).
    const local = await run({}, "tcp");
    const t = local.result.generatorState!;
    assert.equal(t.store, "tcp");
    assert.deepEqual(t.versions, [local.result.policyVersion, local.result.policyVersion]);
    for (const c of t.checksums) assert.ok(Math.abs(c - t.trainerChecksum) <= 1e-9 * t.trainerChecksum, `tcp: replica |w| ${c} vs trainer ${t.trainerChecksum}`);
    assert.equal(t.trainerChecksum, g.trainerChecksum, "c10d and TCP runs end with the same trainer weights");
    const runLines = [...remote.lines, "----", ...local.lines];
    assert.ok(!local.lines.some((l) => l.startsWith("reference model:")));
    const kl = (m: typeof remote.metrics) => m.filter((r) => r.step > 0).map((r) => r["loss/kl_ref"]);
    assert.equal(kl(remote.metrics).length, 2);
    assert.ok(kl(remote.metrics).every((v) => typeof v === "number" && v !== 0), JSON.stringify(remote.metrics[1]));
    assert.deepEqual(kl(remote.metrics), kl(local.metrics));

    // Nothing left behind: the agents run no actor process for us, every one seen is gone.
    await noActorsLeft();
    await waitFor(() => [...seen.values()].every((s) => [...s].every((p) => !isAlive(p))), "remote actor processes to exit", 3000);
    assert.deepEqual(liveChildPids(), []);
  });

  it("LoRA: a remote replica killed mid-run restarts on its own host and loads the current adapters", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-multihost-kill-"));
    const { config: cfg, snake } = config(dir, { nats: nats.url, steps: 3, genHosts: ["hostA", "hostB"], ref: {}, lora: true });
    const before = new Set(seen.get("hostA"));
    let killed: number | undefined;
    const killer = setInterval(() => {
      if (killed !== undefined || readMetricsJsonl(join(dir, "metrics.jsonl")).length === 0) return;
      const pid = childrenOf(agents.get("hostA")!.pid!)[0];
      if (pid === undefined) return;
      killed = pid;
      process.kill(pid, "SIGKILL");
    }, 20);
    const lines: string[] = [];
    let result;
    try {
      result = await runGrpo({ config: cfg, rawConfig: snake, progress: false, log: (l) => lines.push(l) });
    } finally {
      clearInterval(killer);
    }
    assert.ok(killed !== undefined && !before.has(killed), `a replica of this run on hostA was killed\n${lines.join("\n")}`);
    const g = result.generatorState!;
    assert.equal(result.steps, 3);
    assert.deepEqual(g.hosts, ["hostA", "hostB"]);
    assert.notEqual(g.pids[0], killed);
    assert.ok(seen.get("hostA")!.has(g.pids[0]!), "the restarted replica runs under hostA's agent again");
    assert.deepEqual(g.versions, [3, 3]);
    assert.equal(g.store, "c10d");
    // Under LoRA the checksums cover the adapters only (each side loads its own frozen base).
    for (const c of g.checksums) assert.ok(Math.abs(c - g.trainerChecksum) <= 1e-9 * g.trainerChecksum, `replica ${c} vs trainer ${g.trainerChecksum}`);
    assert.ok(lines.some((l) => /LoRA r=4/.test(l)), lines.join("\n"));
    assert.equal(lines.filter((l) => /replica 0 restarted/.test(l)).length, 1, lines.join("\n"));
    await noActorsLeft();
  });

  it("clear errors: an unknown host names the known agents; hosts without a cluster; an unreachable cluster", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-multihost-err-"));
    const unknown = config(dir, { nats: nats.url, steps: 1, genHosts: ["hostA", "hostC"], ref: {}, timeoutS: 0.5 });
    await assert.rejects(
      runGrpo({ config: unknown.config, rawConfig: unknown.snake, progress: false, log: () => undefined }),
      (e: unknown) =>
        e instanceof GrpoConfigError &&
        /services\.generator\.hosts: no host agent named 'hostC' answered within 0\.5 s \(known agents: hostA, hostB\)/.test(e.message),
    );
    assert.throws(() => config(dir, { steps: 1, genHosts: ["hostA"], ref: {} }), /services\.generator\.hosts.*needs a top-level cluster section/s);
    assert.throws(() => config(dir, { steps: 1, genHosts: ["host.example.org"], ref: {} }), /no dots/);
    const closed = config(dir, { nats: "nats://127.0.0.1:1", steps: 1, genHosts: ["hostA"], ref: {}, timeoutS: 1 });
    await assert.rejects(
      runGrpo({ config: closed.config, rawConfig: closed.snake, progress: false, log: () => undefined }),
      /cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1/,
    );
    await noActorsLeft();
  });

  // Last: it kills hostB's agent.
  it("a host dying mid-run: its replica restarts on the next listed live host, the run completes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tf-multihost-host-"));
    const { config: cfg, snake } = config(dir, { nats: nats.url, steps: 3, genHosts: ["hostA", "hostB"], ref: {}, hostTimeoutS: 1 });
    let killedAt: number | undefined;
    const killer = setInterval(() => {
      if (killedAt !== undefined || readMetricsJsonl(join(dir, "metrics.jsonl")).length === 0) return;
      killedAt = Date.now();
      agents.get("hostB")!.kill("SIGKILL"); // the whole host goes: its actor processes exit with their parent
    }, 20);
    const lines: string[] = [];
    let result;
    try {
      result = await runGrpo({ config: cfg, rawConfig: snake, progress: false, log: (l) => lines.push(l) });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${lines.join("\n")}`, { cause: err });
    } finally {
      clearInterval(killer);
    }
    assert.ok(killedAt !== undefined, "hostB was killed mid-run");
    const g = result.generatorState!;
    assert.equal(result.steps, 3);
    assert.deepEqual(g.hosts, ["hostA", "hostA"], "replica 1 moved to hostA");
    assert.deepEqual(g.versions, [3, 3]);
    for (const c of g.checksums) assert.ok(Math.abs(c - g.trainerChecksum) <= 1e-9 * g.trainerChecksum);
    assert.ok(lines.some((l) => /generator replica 1 moved from host hostB \(gone\) to host hostA/.test(l)), lines.join("\n"));
    agents.delete("hostB");
    await noActorsLeft();
  });
});
