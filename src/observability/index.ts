/**
 * `torchforge/observability`: `recordMetric` with cross-process reductions, the `MetricLogger`
 * and its backends (console progress bar, JSONL, TensorBoard event files, a self-contained HTML
 * dashboard) and a phase tracer. Names follow torchforge (`reward/…`, `loss/…`, `generator/…`,
 * `main_perf/…`). No tensors and no actors here: the actor runtime imports this layer and ships
 * its processes' metrics through `addMetricSource` / `drainMetrics`.
 */
export { recordMetric, drainMetrics, mergeMetricStates, reduceMetricState, MetricError } from "./metrics.ts";
export type { MetricValue, MetricState, Reduce } from "./metrics.ts";
export { addMetricSource, removeMetricSource, metricSources, type MetricSource } from "./metric-sources.ts";
export { MetricLogger, ConsoleBackend, MemoryBackend } from "./metric-logger.ts";
export type { MetricBackend, MetricLoggerOptions } from "./metric-logger.ts";
export { ProgressConsoleBackend, formatDuration, formatValue } from "./progress-console-backend.ts";
export type { ProgressConsoleOptions, ProgressStream } from "./progress-console-backend.ts";
export { JsonlBackend, readMetricsJsonl } from "./jsonl-backend.ts";
export type { JsonlBackendOptions, MetricRecord } from "./jsonl-backend.ts";
export { TensorBoardBackend } from "./tensorboard-backend.ts";
export type { TensorBoardBackendOptions } from "./tensorboard-backend.ts";
export { encodeTfRecord, decodeTfRecords, TfRecordError } from "./tfrecord.ts";
export { encodeEvent, decodeEvent, decodeFields } from "./event-proto.ts";
export type { EventInit, DecodedEvent, ScalarValue, ProtoField } from "./event-proto.ts";
export { crc32c, maskedCrc32c } from "./crc32c.ts";
export { DashboardBackend, writeDashboard } from "./dashboard-backend.ts";
export type { DashboardBackendOptions } from "./dashboard-backend.ts";
export { renderDashboard, renderDashboardDataScript, dashboardData, planCharts, renderSamplesTable, seriesOf, DASHBOARD_CHARTS, DASHBOARD_SECTIONS } from "./dashboard-html.ts";
export type { RenderDashboardOptions, DashboardSection, DashboardChartSpec, ChartPlan, DashboardData } from "./dashboard-html.ts";
export { Tracer, Span, tracer } from "./tracer.ts";
export type { TracerOptions } from "./tracer.ts";
export { createRunBackends } from "./run-backends.ts";
export type { RunBackendsOptions, RunBackends } from "./run-backends.ts";
export { trimRunLogs } from "./resume-trim.ts";
export type { TrimRunLogsOptions, TrimmedLogs } from "./resume-trim.ts";
export { appendTrajectorySamples, readLatestTrajectorySamples, trajectorySpans } from "./trajectory-samples.ts";
export type { TrajectorySample, TrajectorySpan } from "./trajectory-samples.ts";
