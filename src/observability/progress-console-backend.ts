/**
 * Console backend with a progress bar and ETA. On a TTY it redraws one line in place
 * (`\r` + clear line); elsewhere (CI logs, pipes) it prints one plain line per flush:
 *
 *     step 30/100 [#######.................]  30% 1.20s/step ETA 1m24s | reward/mean=0.52 loss/value=0.0123
 */
import type { MetricBackend } from "./metric-logger.ts";
import type { MetricValue } from "./metrics.ts";

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressConsoleOptions {
  /** Total steps of the run, for the bar and the ETA; without it only the step is shown. */
  totalSteps?: number;
  /** Step the run starts from (a resumed run), so the ETA uses only this session's pace. @default 0 */
  startStep?: number;
  /** Metric keys to show, in order. @default up to `maxKeys` keys, reward/ eval/ loss/ first */
  keys?: string[];
  /** @default 6 */
  maxKeys?: number;
  /** Short names to print instead of keys (e.g. `{ "main_perf/generate_s": "gen_s" }`). @default none */
  labels?: Record<string, string>;
  /** @default process.stdout */
  stream?: ProgressStream;
  /** Redraw one line in place. @default stream.isTTY */
  tty?: boolean;
  /** Milliseconds clock. @default performance.now */
  now?: () => number;
  /** @default 24 */
  barWidth?: number;
}

const PRIORITY = [/^reward\//, /^eval\//, /accuracy/, /^loss\/value$/, /^loss\//, /^trainer\/grad_norm$/, /tokens_per_s/];

export class ProgressConsoleBackend implements MetricBackend {
  readonly #o: ProgressConsoleOptions;
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #start: number;
  #drewLine = false;

  constructor(options: ProgressConsoleOptions = {}) {
    const { totalSteps } = options;
    if (totalSteps !== undefined && !(Number.isInteger(totalSteps) && totalSteps > 0)) {
      throw new TypeError(`ProgressConsoleBackend: 'totalSteps' must be an integer > 0; got ${totalSteps}`);
    }
    this.#o = options;
    this.#stream = options.stream ?? process.stdout;
    this.#tty = options.tty ?? this.#stream.isTTY === true;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** The line for a flush (without `\r` or newline). */
  format(step: number, metrics: Record<string, MetricValue>): string {
    const total = this.#o.totalSteps;
    const done = step - (this.#o.startStep ?? 0);
    const elapsedS = (this.#now() - this.#start) / 1000;
    const perStep = done > 0 ? elapsedS / done : NaN;
    let head = total ? `step ${step}/${total}` : `step ${step}`;
    if (total) {
      const frac = Math.min(1, Math.max(0, step / total));
      const width = this.#o.barWidth ?? 24;
      const fill = Math.round(frac * width);
      head += ` [${"#".repeat(fill)}${".".repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}%`;
    }
    if (Number.isFinite(perStep)) {
      head += ` ${perStep.toFixed(2)}s/step`;
      if (total) head += ` ETA ${formatDuration(Math.max(0, total - step) * perStep)}`;
    }
    const shown = this.#keys(metrics)
      .filter((k) => typeof metrics[k] === "number")
      .map((k) => `${this.#o.labels?.[k] ?? k}=${formatValue(metrics[k] as number)}`);
    return shown.length ? `${head} | ${shown.join(" ")}` : head;
  }

  log(step: number, metrics: Record<string, MetricValue>): void {
    let line = this.format(step, metrics);
    if (this.#tty) {
      const cols = this.#stream.columns;
      if (cols && line.length > cols - 1) line = line.slice(0, cols - 2) + "…";
      this.#stream.write(`\r\x1b[2K${line}`);
      this.#drewLine = true;
    } else this.#stream.write(`${line}\n`);
  }

  /** Ends the in-place line so later output starts on a fresh one. */
  close(): void {
    if (this.#tty && this.#drewLine) this.#stream.write("\n");
    this.#drewLine = false;
  }

  #keys(metrics: Record<string, MetricValue>): string[] {
    if (this.#o.keys) return this.#o.keys.filter((k) => k in metrics);
    const max = this.#o.maxKeys ?? 6;
    const keys = Object.keys(metrics);
    const picked: string[] = [];
    for (const re of PRIORITY) {
      for (const k of keys) if (re.test(k) && !picked.includes(k) && picked.length < max) picked.push(k);
    }
    for (const k of keys) if (!picked.includes(k) && picked.length < max) picked.push(k);
    return picked;
  }
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** 75 → "1m15s", 3725 → "1h02m", 9 → "9s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
