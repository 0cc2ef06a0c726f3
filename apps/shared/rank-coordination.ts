/**
 * What the ranks of a data-parallel app agree on besides gradients. Control data (metric states,
 * replay-buffer states, "rank 0 is done") goes through the process group's TCPStore, never
 * through tensors; the one vote that must be a collective (stop or go on) is an all-reduce.
 *
 * Waits for the main rank poll the store asynchronously and never time out: rank 0 may evaluate
 * or checkpoint for as long as it needs while the others wait. A rank that dies still ends the
 * run: the launcher stops the others, and rank 0 hosts the store, so a poll fails when it is gone.
 */
import { createHash } from "node:crypto";
import { torch, type distributed, type nn } from "../../src/torch/index.ts";
import { allReduceNumbers } from "../../src/trainer/index.ts";
import { addMetricSource, drainMetrics, removeMetricSource, type MetricSource, type MetricState } from "../../src/observability/index.ts";

const POLL_MS = 10;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RankCoordinatorOptions {
  /** Namespaces this app's store keys. @default "app" */
  prefix?: string;
  /**
   * Metrics only the main rank reports (the other ranks' values are dropped): step timings, which
   * every rank shares through the collectives, would otherwise add up across ranks. @default key starts with "main_perf/"
   */
  mainOnly?: (key: string) => boolean;
}

export class RankCoordinator {
  readonly rank: number;
  readonly worldSize: number;
  readonly isMain: boolean;
  readonly #group: distributed.ProcessGroup;
  readonly #prefix: string;
  readonly #mainOnly: (key: string) => boolean;
  /** Other ranks' metric states gathered for the main rank's next flush. */
  #pending: MetricState[] = [];
  readonly #source: MetricSource;
  /** Per-label call counters: every rank makes the same calls in the same order, so counters name the same exchange. */
  readonly #seq = new Map<string, number>();

  constructor(group: distributed.ProcessGroup, options: RankCoordinatorOptions = {}) {
    this.#group = group;
    this.rank = group.rank;
    this.worldSize = group.worldSize;
    this.isMain = group.rank === 0;
    this.#prefix = options.prefix ?? "app";
    this.#mainOnly = options.mainOnly ?? ((k) => k.startsWith("main_perf/"));
    this.#source = { drainMetrics: async () => this.#pending.splice(0) };
    if (this.isMain) addMetricSource(this.#source);
  }

  #key(label: string): string {
    const n = this.#seq.get(label) ?? 0;
    this.#seq.set(label, n + 1);
    return `${this.#prefix}/${label}/${n}`;
  }

  async #waitFor(key: string): Promise<void> {
    while (this.#group.store.add(key, 0) < 1) await sleep(POLL_MS);
  }

  /** True when any rank wants to stop; every rank calls it at the same point (a collective). */
  agreeToStop(wantsToStop: boolean): boolean {
    return allReduceNumbers(this.#group, [wantsToStop ? 1 : 0], "max")[0]! > 0;
  }

  /** True when every rank is ready (a collective). */
  allReady(ready: boolean): boolean {
    return allReduceNumbers(this.#group, [ready ? 1 : 0], "min")[0]! > 0;
  }

  /**
   * Every rank calls this where it would flush metrics: the other ranks hand over what they
   * recorded since the last call, and the main rank's next `MetricLogger.flush` merges them
   * exactly (means over all ranks' values, sums, maxima, samples), so it logs global figures.
   */
  async shareMetrics(): Promise<void> {
    const key = this.#key("metrics");
    if (!this.isMain) {
      const states = drainMetrics().filter((s) => !this.#mainOnly(s.key));
      this.#group.store.set(`${key}/${this.rank}`, JSON.stringify(states));
      this.#group.store.add(`${key}/${this.rank}/ready`, 1);
      return;
    }
    for (let r = 1; r < this.worldSize; r++) {
      await this.#waitFor(`${key}/${r}/ready`);
      const states = JSON.parse(this.#group.store.get(`${key}/${r}`)) as MetricState[];
      // JSON has no infinities: an unset max/min (a `sample` state) comes back as null.
      for (const s of states) this.#pending.push({ ...s, max: s.max ?? -Infinity, min: s.min ?? Infinity });
    }
  }

  /** The main rank gets every rank's `value` (in rank order); the others get undefined. */
  async gatherOnMain<T>(label: string, value: T): Promise<T[] | undefined> {
    const key = this.#key(`gather-${label}`);
    if (!this.isMain) {
      this.#group.store.set(`${key}/${this.rank}`, JSON.stringify(value ?? null));
      this.#group.store.add(`${key}/${this.rank}/ready`, 1);
      return undefined;
    }
    const out: T[] = [value];
    for (let r = 1; r < this.worldSize; r++) {
      await this.#waitFor(`${key}/${r}/ready`);
      out.push(JSON.parse(this.#group.store.get(`${key}/${r}`)) as T);
    }
    return out;
  }

  /**
   * The main rank passes at once and marks `label` reached; the others wait until it has, without
   * a timeout (an eval or a checkpoint on rank 0 may take longer than a collective's timeout).
   */
  async waitForMain(label: string): Promise<void> {
    const key = this.#key(`main-${label}`);
    if (this.isMain) this.#group.store.add(key, 1);
    else await this.#waitFor(key);
  }

  /** The end of a run: every rank waits for the main rank's last writes, then all meet before the store goes away. */
  async finish(): Promise<void> {
    await this.waitForMain("finish");
    await this.#group.barrier().wait();
  }

  dispose(): void {
    removeMetricSource(this.#source);
    this.#pending = [];
  }
}

/** SHA-256 over a module's parameters (names, dtypes, shapes and bytes): equal exactly when the weights are bitwise equal. */
export function weightsDigest(model: nn.Module): string {
  const h = createHash("sha256");
  for (const [name, p] of model.namedParameters()) {
    h.update(`${name}:${p.dtype}:${p.shape.join("x")};`);
    torch.tidy(() => void h.update(p.contiguous().bytes()));
  }
  return h.digest("hex");
}
