/**
 * Knows the cores and GPUs of each host and hands GPUs to processes, never one GPU to two
 * processes. GPUs come from CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`, else none.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism, hostname } from "node:os";
import { InsufficientResourcesError } from "./errors.ts";

export interface ProvisionerOptions {
  /** GPU ids (CUDA_VISIBLE_DEVICES tokens) or a count; @default detected on this host */
  gpus?: string[] | number;
  /** CPU cores; @default os.availableParallelism() */
  cores?: number;
}

export interface HostInfo {
  name: string;
  cores: number;
  gpus: string[];
  freeGpus: string[];
}

/** GPUs visible to this process: CUDA_VISIBLE_DEVICES wins; else count `nvidia-smi -L` lines. */
export function detectGpus(env: NodeJS.ProcessEnv = process.env): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids = visible.split(",").map((s) => s.trim()).filter((s) => s !== "");
    // "-1" (or any token after an invalid one) hides the devices that follow, as CUDA does.
    const cut = ids.findIndex((s) => s.startsWith("-"));
    return cut === -1 ? ids : ids.slice(0, cut);
  }
  try {
    const out = execFileSync("nvidia-smi", ["-L"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    const n = out.split("\n").filter((l) => l.startsWith("GPU ")).length;
    return Array.from({ length: n }, (_, i) => String(i));
  } catch {
    return [];
  }
}

export class Provisioner {
  private readonly host: HostInfo;
  private readonly used = new Set<string>();

  constructor(options: ProvisionerOptions = {}) {
    const gpus =
      typeof options.gpus === "number"
        ? Array.from({ length: options.gpus }, (_, i) => String(i))
        : (options.gpus ?? detectGpus());
    this.host = { name: hostname(), cores: options.cores ?? availableParallelism(), gpus: [...gpus], freeGpus: [] };
  }

  /** Hosts known to this provisioner (one: this host; multi-host transports add more). */
  hosts(): HostInfo[] {
    return [{ ...this.host, gpus: [...this.host.gpus], freeGpus: this.freeGpus() }];
  }

  freeGpus(): string[] {
    return this.host.gpus.filter((g) => !this.used.has(g));
  }

  /** Reserve `count` GPUs; throws `InsufficientResourcesError` naming how many are free. */
  allocateGpus(count: number): string[] {
    const free = this.freeGpus();
    if (count > free.length) throw new InsufficientResourcesError("GPU", count, free.length);
    const got = free.slice(0, count);
    for (const g of got) this.used.add(g);
    return got;
  }

  releaseGpus(ids: readonly string[]): void {
    for (const g of ids) this.used.delete(g);
  }
}

let defaultProvisioner: Provisioner | undefined;

/** The provisioner launchers use unless given one in their options. */
export function getDefaultProvisioner(): Provisioner {
  return (defaultProvisioner ??= new Provisioner());
}

export function setDefaultProvisioner(p: Provisioner): void {
  defaultProvisioner = p;
}
