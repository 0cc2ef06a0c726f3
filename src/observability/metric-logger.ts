/**
 * Controller-side metric collection: `flush(step)` pulls the accumulated states from this
 * process and every registered metric source (live actor child and remote ranks), reduces them
 * across processes and hands the results to the attached backends (console and memory here;
 * JSONL, TensorBoard and the dashboard in their own files).
 */
import { metricSources } from "./metric-sources.ts";
import { type MetricValue, drainMetrics, mergeMetricStates, reduceMetricState } from "./metrics.ts";

/** Where reduced metrics go. */
export interface MetricBackend {
  log(step: number, metrics: Record<string, MetricValue>): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Prints one line per flush. */
export class ConsoleBackend implements MetricBackend {
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}
  log(step: number, metrics: Record<string, MetricValue>): void {
    const parts = Object.entries(metrics).map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.length} samples]` : formatNumber(v)}`);
    this.write(`step ${step}: ${parts.join(" ")}`);
  }
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** Keeps every flush in memory (for tests). */
export class MemoryBackend implements MetricBackend {
  readonly logs: Array<{ step: number; metrics: Record<string, MetricValue> }> = [];
  log(step: number, metrics: Record<string, MetricValue>): void {
    this.logs.push({ step, metrics });
  }
}

export interface MetricLoggerOptions {
  /** @default [] */
  backends?: MetricBackend[];
  /** How long to wait for a child process's metrics. @default 5000 */
  collectTimeoutMs?: number;
}

export class MetricLogger {
  private readonly backends: MetricBackend[];
  private readonly collectTimeoutMs: number;

  constructor(options: MetricLoggerOptions = {}) {
    this.backends = [...(options.backends ?? [])];
    this.collectTimeoutMs = options.collectTimeoutMs ?? 5000;
  }

  addBackend(backend: MetricBackend): void {
    this.backends.push(backend);
  }

  /** Collect, reduce and log everything recorded since the last flush; returns the reduced values. */
  async flush(step: number): Promise<Record<string, MetricValue>> {
    const remote = await Promise.all(metricSources().map((c) => c.drainMetrics(this.collectTimeoutMs)));
    const merged = mergeMetricStates([...drainMetrics(), ...remote.flat()]);
    const metrics: Record<string, MetricValue> = {};
    for (const key of [...merged.keys()].sort()) metrics[key] = reduceMetricState(merged.get(key)!);
    if (Object.keys(metrics).length > 0) await Promise.all(this.backends.map((b) => b.log(step, metrics)));
    return metrics;
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close?.()));
  }
}
