/**
 * The reference model behind one interface: in the controller (the default), or as a service of
 * `services.ref_model.num_replicas` processes — on this host, or on the host agents named in
 * `services.ref_model.hosts`. Both score with `scoreRows` on the same 64-row chunks, so they give
 * the same numbers; the service only moves token ids in and logprobs out (no weights: each
 * replica loads the frozen starting weights itself).
 */
import { Actor, endpoint, type NatsCluster } from "../../src/actors/index.ts";
import { torch } from "../../src/torch/index.ts";
import type { CausalLM } from "../../src/models/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import { resolveModel, type ModelSpec } from "../shared/resolve-model.ts";
import { GrpoConfigError } from "./errors.ts";

/** Rows per forward pass of the reference model. */
export const REF_CHUNK_ROWS = 64;

export interface ReferenceScorer {
  /**
   * Logprobs of every token after the first of each row, at `temperature`: entry t of row i
   * scores rows[i][t + 1] given rows[i][0..t]. Rows are scored in chunks of `REF_CHUNK_ROWS`.
   */
  logprobs(rows: number[][], temperature: number): Promise<number[][]>;
  close(): Promise<void>;
  /** "in the controller", or the service's replicas and their hosts. */
  readonly where: string;
}

/**
 * One forward over right-padded rows (causal attention never lets a real token see padding);
 * row i's result is trimmed to its own length - 1.
 */
export function scoreRows(model: CausalLM, rows: number[][], temperature: number, padId = 0): number[][] {
  const width = Math.max(...rows.map((r) => r.length));
  const logprobs = torch.noGrad(() =>
    torch.tidy(() => {
      const ids = torch.tensor(rows.map((r) => [...r, ...new Array(width - r.length).fill(padId)]));
      return model.sequenceLogprobs(ids, { temperature }).toArray() as number[][]; // (B, width-1)
    }),
  );
  return logprobs.map((lp, i) => lp.slice(0, rows[i]!.length - 1));
}

function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < xs.length; start += REF_CHUNK_ROWS) out.push(xs.slice(start, start + REF_CHUNK_ROWS));
  return out;
}

/** A frozen copy of the starting weights. */
export function loadReference(spec: ModelSpec): CausalLM {
  const model = resolveModel(spec).model.eval();
  for (const p of model.parameters()) p.requiresGrad_(false);
  return model;
}

/** `model` scored in this process (`close` disposes it). */
export function localReference(model: CausalLM): ReferenceScorer {
  return {
    where: "in the controller",
    logprobs: async (rows, temperature) => chunks(rows).flatMap((c) => scoreRows(model, c, temperature)),
    close: async () => model.dispose(),
  };
}

/** The reference model in a process of its own (a service replica). */
export class RefModelActor extends Actor {
  static module = import.meta.url;
  #model: CausalLM | null = null;

  constructor(private readonly spec: ModelSpec) {
    super();
  }

  override async setup(): Promise<void> {
    this.#model = loadReference(this.spec);
  }

  /** `scoreRows` on one chunk. */
  @endpoint async logprobs(rows: number[][], temperature: number): Promise<number[][]> {
    return scoreRows(this.#model!, rows, temperature);
  }

  @endpoint async where(): Promise<{ pid: number; host: string }> {
    return { pid: process.pid, host: this.context.host };
  }

  override async shutdown(): Promise<void> {
    this.#model?.dispose();
  }
}

export interface StartReferenceOptions {
  modelSpec: ModelSpec;
  /** The joined cluster when `services.ref_model.hosts` names hosts. */
  cluster?: NatsCluster;
  log?: (line: string) => void;
}

/** Where `services.ref_model` puts the reference model: none (`grpo.beta: 0`), the controller, or a service. */
export function refModelPlacement(config: GrpoConfig): "none" | "controller" | "service" {
  if (config.grpo.beta <= 0) return "none";
  const spec = config.services.refModel;
  return (spec?.separate ?? (spec?.hosts.length ?? 0) > 0) ? "service" : "controller";
}

/** The reference model as a service (`refModelPlacement` is "service"). */
export async function startReferenceService(config: GrpoConfig, o: StartReferenceOptions): Promise<ReferenceScorer> {
  const spec = config.services.refModel!;
  const hosts = spec.hosts;
  if (hosts.length > 0 && !o.cluster)
    throw new GrpoConfigError("services.ref_model.hosts needs a joined cluster (top-level cluster section)");
  const service = await RefModelActor.options({
    procs: 1,
    numReplicas: spec.numReplicas,
    ...(hosts.length > 0 ? { cluster: o.cluster, hostNames: hosts } : {}),
    log: o.log,
  }).asService(o.modelSpec);
  const placed = await service.where.fanout();
  return {
    where: `a service of ${placed.length} replica(s): ${placed.map((p) => `pid ${p.pid} on ${p.host}`).join(", ")}`,
    // Chunks go out together: several replicas score them in parallel.
    logprobs: async (rows, temperature) => (await Promise.all(chunks(rows).map((c) => service.logprobs.route(c, temperature)))).flat(),
    close: () => service.shutdown(),
  };
}
