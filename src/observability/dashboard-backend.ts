/**
 * Regenerates the HTML dashboard from the run's metrics JSONL every `every` flushes (and on
 * close), atomically, so a browser reload never sees half a page. The flush being logged is
 * merged in when the JSONL does not have it yet (backends run in any order).
 */
import type { MetricBackend } from "./metric-logger.ts";
import type { MetricValue } from "./metrics.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { readMetricsJsonl, type MetricRecord } from "./jsonl-backend.ts";
import { renderDashboard, type RenderDashboardOptions } from "./dashboard-html.ts";
import { readLatestTrajectorySamples } from "./trajectory-samples.ts";

export interface DashboardBackendOptions extends Omit<RenderDashboardOptions, "generatedAt" | "samples"> {
  /** The `.html` file to write. */
  path: string;
  /** The metrics JSONL (written by a `JsonlBackend`) the charts are drawn from. */
  jsonlPath: string;
  /** Regenerate every N flushes. @default 10 */
  every?: number;
  /** Trajectory samples JSONL (`appendTrajectorySamples`); the latest step's are shown. @default none */
  samplesPath?: string;
}

export class DashboardBackend implements MetricBackend {
  readonly path: string;
  readonly #o: DashboardBackendOptions;
  readonly #every: number;
  #flushes = 0;
  #pending: MetricRecord | undefined;

  constructor(options: DashboardBackendOptions) {
    for (const f of ["path", "jsonlPath"] as const) {
      if (typeof options?.[f] !== "string" || options[f] === "") throw new TypeError(`DashboardBackend: '${f}' must be a file path; got ${JSON.stringify(options?.[f])}`);
    }
    const every = options.every ?? 10;
    if (!(Number.isInteger(every) && every >= 1)) throw new TypeError(`DashboardBackend: 'every' must be an integer >= 1; got ${every}`);
    this.path = options.path;
    this.#o = options;
    this.#every = every;
  }

  log(step: number, metrics: Record<string, MetricValue>): void {
    this.#flushes += 1;
    this.#pending = { step, ...Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === "number")) };
    if (this.#flushes % this.#every === 0) this.write();
  }

  /** Regenerates the page now. */
  write(): void {
    const records = readMetricsJsonl(this.#o.jsonlPath);
    const p = this.#pending;
    if (p && !records.some((r) => r.step === p.step)) records.push(p);
    writeFileAtomic(this.path, renderDashboard(records, {
      title: this.#o.title,
      refreshSeconds: this.#o.refreshSeconds,
      samples: this.#o.samplesPath ? readLatestTrajectorySamples(this.#o.samplesPath) : [],
    }));
  }

  close(): void {
    this.write();
  }
}

/** Writes a dashboard for an existing metrics JSONL (e.g. after a run, or from a CLI). */
export function writeDashboard(jsonlPath: string, htmlPath: string, options: RenderDashboardOptions = {}): void {
  writeFileAtomic(htmlPath, renderDashboard(readMetricsJsonl(jsonlPath), options));
}
