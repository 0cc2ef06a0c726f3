/**
 * The hook through which the actor runtime ships metrics of other processes: each child or remote
 * rank registers itself as a source, and `MetricLogger.flush` pulls their states besides this
 * process's. The runtime imports this module; observability knows nothing of actors.
 */
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
