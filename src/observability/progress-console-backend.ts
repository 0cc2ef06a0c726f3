/**
 * Console backend with a progress bar and ETA. On a TTY it redraws one line in place
 * (`\r` + clear line); elsewhere (CI logs, pipes) it prints one plain line per flush:
 *
 *     step 30/100 [#######.................]  30% 1.20s/step ETA 1m24s | reward 0.52 acc 41.0% kl 0.0012 gnorm 0.83 lr 1.00e-5 | gen 0.80s train 0.30s sync 0.10s
 *
 * The default line shows the reward (the loss when there is none, as in SFT), the last eval
 * accuracy once one is known, KL to the reference, grad norm, learning rate, and the split of the
 * step's time by phase (`main_perf/*_s`). The pace and ETA are measured from the first flush, so
 * startup (model load, compile, the first eval) does not skew them.
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
  /** Metric keys to show, in order, as `key=value`, instead of the default line (see module doc). */
  keys?: string[];
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

/** The default line's fields, in order: label, the keys it shows (first present wins), format. */
const FIELDS: { label: string; keys: string[]; format?: (v: number) => string; sticky?: boolean }[] = [
  { label: "reward", keys: ["reward/mean"] },
  { label: "acc", keys: ["eval/accuracy"], format: (v) => `${(v * 100).toFixed(1)}%`, sticky: true },
  { label: "kl", keys: ["loss/kl_ref"] },
  { label: "gnorm", keys: ["trainer/grad_norm"] },
  { label: "lr", keys: ["trainer/lr"] },
];
// Phase names in the time split; `score_s` (reward + reference) and `step_s` (the whole step) would double-count.
const PHASE_LABELS: Record<string, string> = { generate: "gen", train_step: "train", weight_sync: "sync", ref_logprobs: "ref", reward: "reward", eval: "eval" };
const NOT_PHASES = new Set(["score", "step"]);

export class ProgressConsoleBackend implements MetricBackend {
  readonly #o: ProgressConsoleOptions;
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #now: () => number;
  /** Time and step of the first flush: the pace is measured from here (startup excluded). */
  #first: { t: number; step: number } | undefined;
  /** Last value of sticky fields (eval accuracy is logged only on eval steps). */
  readonly #last = new Map<string, number>();
  #sawReward = false;
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
  }

  /** The line for a flush (without `\r` or newline). The first call fixes where the pace is measured from. */
  format(step: number, metrics: Record<string, MetricValue>): string {
    const total = this.#o.totalSteps;
    const t = this.#now();
    this.#first ??= { t, step };
    const steps = step - this.#first.step;
    const stepS = metrics["main_perf/step_s"];
    // Until a second flush exists, the step's own duration (if logged) is the best pace estimate.
    const perStep = steps > 0 ? (t - this.#first.t) / 1000 / steps : typeof stepS === "number" ? stepS : NaN;
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
    const parts = this.#o.keys ? [this.#chosen(metrics)] : this.#summary(metrics);
    return [head, ...parts.filter((p) => p !== "")].join(" | ");
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

  #chosen(metrics: Record<string, MetricValue>): string {
    return this.#o.keys!
      .filter((k) => typeof metrics[k] === "number")
      .map((k) => `${this.#o.labels?.[k] ?? k}=${formatValue(metrics[k] as number)}`)
      .join(" ");
  }

  /** The default line: [metrics, phase split]. */
  #summary(metrics: Record<string, MetricValue>): string[] {
    const num = (k: string) => (typeof metrics[k] === "number" && Number.isFinite(metrics[k]) ? (metrics[k] as number) : undefined);
    if (num("reward/mean") !== undefined) this.#sawReward = true;
    const shown: string[] = [];
    // A run without rewards (SFT) shows its loss in the reward's place.
    const fields = this.#sawReward ? FIELDS : [{ label: "loss", keys: ["loss/value"] }, ...FIELDS.slice(1)];
    for (const f of fields) {
      let v = f.keys.map(num).find((x) => x !== undefined);
      if (f.sticky) {
        if (v !== undefined) this.#last.set(f.label, v);
        else v = this.#last.get(f.label);
      }
      if (v !== undefined) shown.push(`${this.#o.labels?.[f.keys[0]!] ?? f.label} ${(f.format ?? formatValue)(v)}`);
    }
    const phases: string[] = [];
    for (const [k, v] of Object.entries(metrics)) {
      const m = /^main_perf\/(.+)_s$/.exec(k);
      if (!m || NOT_PHASES.has(m[1]!) || typeof v !== "number" || !Number.isFinite(v)) continue;
      phases.push(`${PHASE_LABELS[m[1]!] ?? m[1]} ${v.toFixed(2)}s`);
    }
    return [shown.join(" "), phases.join(" ")];
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
