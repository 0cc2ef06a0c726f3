/**
 * Keeps the run's HTML dashboard live. The page (`dashboard.html`) is written at the first flush
 * and again on close (then with all data embedded, so the finished file stands alone); in between,
 * the data it draws goes to a sibling script (`dashboard-data.js`) at the first flush and every
 * `every` flushes, which the open page re-loads (see dashboard-html.ts). Both atomically, so a
 * browser never reads half a file.
 *
 * Records come from the metrics JSONL once (a resumed run's earlier steps), then from the flushes
 * logged here, so a step costs no re-read of the whole file.
 */
import { basename, dirname, join } from "node:path";
import type { MetricBackend } from "./metric-logger.ts";
import type { MetricValue } from "./metrics.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { readMetricsJsonl, type MetricRecord } from "./jsonl-backend.ts";
import { dashboardData, renderDashboard, renderDashboardDataScript, type RenderDashboardOptions } from "./dashboard-html.ts";
import { readLatestTrajectorySamples } from "./trajectory-samples.ts";

export interface DashboardBackendOptions extends Omit<RenderDashboardOptions, "generatedAt" | "samples" | "dataScript" | "done"> {
  /** The `.html` file to write. */
  path: string;
  /** The metrics JSONL (written by a `JsonlBackend`) holding earlier steps of a resumed run. */
  jsonlPath: string;
  /** Rewrite the live data every N flushes (the first flush always). @default 10 */
  every?: number;
  /** Also rewrite it at a flush when this long has passed since the last write, so slow steps still show up. @default 5000 */
  maxIntervalMs?: number;
  /** Milliseconds clock. @default performance.now */
  now?: () => number;
  /** Trajectory samples JSONL (`appendTrajectorySamples`); the latest step's are shown. @default none */
  samplesPath?: string;
}

/** `runs/x/dashboard.html` → `runs/x/dashboard-data.js`. */
export function dashboardDataPath(htmlPath: string): string {
  return join(dirname(htmlPath), `${basename(htmlPath).replace(/\.html?$/i, "")}-data.js`);
}

export class DashboardBackend implements MetricBackend {
  readonly path: string;
  /** The live data script next to the page. */
  readonly dataPath: string;
  readonly #o: DashboardBackendOptions;
  readonly #every: number;
  #flushes = 0;
  #records: MetricRecord[] | undefined;
  #pageWritten = false;
  #lastWrite = -Infinity;

  constructor(options: DashboardBackendOptions) {
    for (const f of ["path", "jsonlPath"] as const) {
      if (typeof options?.[f] !== "string" || options[f] === "") throw new TypeError(`DashboardBackend: '${f}' must be a file path; got ${JSON.stringify(options?.[f])}`);
    }
    const every = options.every ?? 10;
    if (!(Number.isInteger(every) && every >= 1)) throw new TypeError(`DashboardBackend: 'every' must be an integer >= 1; got ${every}`);
    this.path = options.path;
    this.dataPath = dashboardDataPath(options.path);
    this.#o = options;
    this.#every = every;
  }

  log(step: number, metrics: Record<string, MetricValue>): void {
    this.#flushes += 1;
    const records = this.#load();
    const record: MetricRecord = { step, ...Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === "number")) };
    const i = records.findIndex((r) => r.step === step);
    if (i >= 0) records[i] = { ...records[i], ...record };
    else records.push(record);
    const due = this.#now() - this.#lastWrite >= (this.#o.maxIntervalMs ?? 5000);
    if (this.#flushes === 1 || this.#flushes % this.#every === 0 || due) this.write();
  }

  /** Rewrites the live data now (and the page, the first time). */
  write(done = false): void {
    const records = this.#load();
    const options: RenderDashboardOptions = {
      title: this.#o.title,
      refreshSeconds: this.#o.refreshSeconds,
      samples: this.#o.samplesPath ? readLatestTrajectorySamples(this.#o.samplesPath) : [],
      dataScript: basename(this.dataPath),
      done,
    };
    writeFileAtomic(this.dataPath, renderDashboardDataScript(dashboardData(records, options)));
    this.#lastWrite = this.#now();
    if (!this.#pageWritten || done) {
      writeFileAtomic(this.path, renderDashboard(records, options));
      this.#pageWritten = true;
    }
  }

  close(): void {
    this.write(true);
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : performance.now();
  }

  #load(): MetricRecord[] {
    this.#records ??= readMetricsJsonl(this.#o.jsonlPath);
    return this.#records;
  }
}

/** Writes a finished (static, self-contained) dashboard for an existing metrics JSONL. */
export function writeDashboard(jsonlPath: string, htmlPath: string, options: RenderDashboardOptions = {}): void {
  writeFileAtomic(htmlPath, renderDashboard(readMetricsJsonl(jsonlPath), { ...options, dataScript: undefined, done: true }));
}
