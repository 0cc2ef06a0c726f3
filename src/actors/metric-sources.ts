/** Places `MetricLogger.flush` pulls metric states from besides this process: child and remote ranks. */
import type { MetricState } from "./metrics.ts";

export interface MetricSource {
  /** Take (and clear) the source's accumulated states; [] when it is gone or too slow. */
  drainMetrics(timeoutMs: number): Promise<MetricState[]>;
}

const sources = new Set<MetricSource>();

export function addMetricSource(source: MetricSource): void {
  sources.add(source);
}

export function removeMetricSource(source: MetricSource): void {
  sources.delete(source);
}

export function metricSources(): MetricSource[] {
  return [...sources];
}
