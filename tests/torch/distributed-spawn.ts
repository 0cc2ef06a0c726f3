// Starts `worldSize` ranks of a worker script with torchrun's environment and collects each
// rank's exit code and output: the harness of the c10d and data-parallel tests.
import { spawn } from "node:child_process";
import { freePort } from "../../src/actors/rank-launcher.ts";

export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export async function runRanks(script: string, worldSize: number, extraEnv: Record<string, string> = {}, timeoutMs = 60_000): Promise<RankResult[]> {
  const port = await freePort();
  const ranks = Array.from({ length: worldSize }, (_, rank) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      env: {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_WORLD_SIZE: String(worldSize),
        MASTER_ADDR: "127.0.0.1",
        MASTER_PORT: String(port),
        OMP_NUM_THREADS: "1",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    return new Promise<RankResult>((resolve) =>
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ rank, code, signal, stdout, stderr });
      }),
    );
  });
  return await Promise.all(ranks);
}

/** The last JSON line a rank printed. */
export function lastJson(r: RankResult): Record<string, unknown> {
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) throw new Error(`rank ${r.rank} printed no JSON (exit ${r.code ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}
