/**
 * `recordMetric` and mergeable reduction states. Callable in any process (controller or actor
 * child); each process accumulates locally and the controller pulls and merges the states at
 * `MetricLogger.flush(step)`, so cross-process reductions are exact (mean/std via sums). A child
 * process answers the pull with `drainMetrics()`; see `metric-sources.ts` for the controller side.
 */

export type Reduce = "mean" | "sum" | "max" | "min" | "std" | "sample";
const REDUCES: readonly Reduce[] = ["mean", "sum", "max", "min", "std", "sample"];

/** Partial reduction of one key in one process; merge-able across processes. */
export interface MetricState {
  key: string;
  reduce: Reduce;
  count: number;
  sum: number;
  sumSq: number;
  max: number;
  min: number;
  /** Raw values for `sample` (capped at MAX_SAMPLES per process per flush). */
  samples: unknown[];
}

/** A reduced metric: a number, or the list of values for `sample`. */
export type MetricValue = number | unknown[];

const MAX_SAMPLES = 1000;
const local = new Map<string, MetricState>();

export class MetricError extends Error {
  override name = "MetricError";
}

function emptyState(key: string, reduce: Reduce): MetricState {
  return { key, reduce, count: 0, sum: 0, sumSq: 0, max: -Infinity, min: Infinity, samples: [] };
}

/**
 * Record one value for `key`. `reduce` says how values are combined across calls and processes
 * at the next flush. @default reduce "mean"
 */
export function recordMetric(key: string, value: number | unknown, reduce: Reduce = "mean"): void {
  if (!REDUCES.includes(reduce)) throw new MetricError(`recordMetric('${key}'): unknown reduce '${reduce}' (use ${REDUCES.join(", ")})`);
  let state = local.get(key);
  if (state === undefined) {
    state = emptyState(key, reduce);
    local.set(key, state);
  } else if (state.reduce !== reduce) {
    throw new MetricError(`recordMetric('${key}'): reduce '${reduce}' differs from earlier '${state.reduce}' for the same key`);
  }
  if (reduce === "sample") {
    state.count++;
    if (state.samples.length < MAX_SAMPLES) state.samples.push(value);
    return;
  }
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new MetricError(`recordMetric('${key}'): value must be a number for reduce '${reduce}', got ${typeof value}`);
  }
  state.count++;
  state.sum += value;
  state.sumSq += value * value;
  if (value > state.max) state.max = value;
  if (value < state.min) state.min = value;
}

/** Take (and clear) this process's accumulated states. */
export function drainMetrics(): MetricState[] {
  const out = [...local.values()];
  local.clear();
  return out;
}

/** Merge states from several processes, key by key. */
export function mergeMetricStates(states: Iterable<MetricState>): Map<string, MetricState> {
  const merged = new Map<string, MetricState>();
  for (const s of states) {
    const m = merged.get(s.key);
    if (m === undefined) {
      merged.set(s.key, { ...s, samples: [...s.samples] });
      continue;
    }
    if (m.reduce !== s.reduce) throw new MetricError(`metric '${s.key}' recorded with reduce '${m.reduce}' and '${s.reduce}' in different processes`);
    m.count += s.count;
    m.sum += s.sum;
    m.sumSq += s.sumSq;
    m.max = Math.max(m.max, s.max);
    m.min = Math.min(m.min, s.min);
    m.samples.push(...s.samples);
  }
  return merged;
}

/** Final value of a merged state. */
export function reduceMetricState(s: MetricState): MetricValue {
  switch (s.reduce) {
    case "mean":
      return s.sum / s.count;
    case "sum":
      return s.sum;
    case "max":
      return s.max;
    case "min":
      return s.min;
    case "std": {
      const mean = s.sum / s.count;
      return Math.sqrt(Math.max(0, s.sumSq / s.count - mean * mean));
    }
    case "sample":
      return s.samples;
  }
}
