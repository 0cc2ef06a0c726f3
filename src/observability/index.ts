/**
 * `torchforge/observability`: metric backends for the actors' `MetricLogger` (console progress
 * bar, JSONL, TensorBoard event files, a self-contained HTML dashboard) and a phase tracer.
 * Record with `recordMetric` (re-exported); names follow torchforge (`reward/…`, `loss/…`,
 * `generator/…`, `main_perf/…`). No tensors here.
 */
export { recordMetric, type MetricValue, type Reduce } from "../actors/metrics.ts";
export { MetricLogger, type MetricBackend } from "../actors/metric-logger.ts";
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
export { renderDashboard, seriesOf, DASHBOARD_SECTIONS } from "./dashboard-html.ts";
export type { RenderDashboardOptions, DashboardSection } from "./dashboard-html.ts";
export { Tracer, Span, tracer } from "./tracer.ts";
export type { TracerOptions } from "./tracer.ts";
export { createRunBackends } from "./run-backends.ts";
export type { RunBackendsOptions, RunBackends } from "./run-backends.ts";
