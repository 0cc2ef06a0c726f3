/**
 * Phase timings: `using span = tracer.span("generate")` records the seconds until the end of the
 * block as `main_perf/generate_s` (reduce "mean" across calls and processes by default).
 * `await tracer.time("rewards", () => ...)` does the same for an async call.
 */
import { recordMetric, type Reduce } from "./metrics.ts";

export interface TracerOptions {
  /** Key prefix. @default "main_perf" */
  prefix?: string;
  /** How repeated spans of one name in a flush combine. @default "mean" */
  reduce?: Reduce;
  /** Where durations go. @default recordMetric */
  record?: (key: string, seconds: number, reduce: Reduce) => void;
  /** Milliseconds clock. @default performance.now */
  now?: () => number;
}

export class Span implements Disposable {
  #ended = false;
  readonly #start: number;
  constructor(
    /** The metric key this span records, e.g. `main_perf/generate_s`. */
    readonly key: string,
    private readonly finish: (key: string, seconds: number) => void,
    private readonly now: () => number,
  ) {
    this.#start = now();
  }
  /** Records the duration (once) and returns it in seconds. */
  end(): number {
    const seconds = (this.now() - this.#start) / 1000;
    if (!this.#ended) this.finish(this.key, seconds);
    this.#ended = true;
    return seconds;
  }
  [Symbol.dispose](): void {
    this.end();
  }
}

export class Tracer {
  readonly #prefix: string;
  readonly #reduce: Reduce;
  readonly #record: (key: string, seconds: number, reduce: Reduce) => void;
  readonly #now: () => number;

  constructor(options: TracerOptions = {}) {
    this.#prefix = options.prefix ?? "main_perf";
    this.#reduce = options.reduce ?? "mean";
    this.#record = options.record ?? recordMetric;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Starts timing phase `name`; the duration is recorded when the span is disposed or ended. */
  span(name: string): Span {
    if (typeof name !== "string" || name === "") throw new TypeError(`tracer.span(name): 'name' must be a non-empty string; got ${JSON.stringify(name)}`);
    return new Span(`${this.#prefix}/${name}_s`, (k, s) => this.#record(k, s, this.#reduce), this.#now);
  }

  /** Times `fn` (sync or async), recording even when it throws. */
  async time<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const span = this.span(name);
    try {
      return await fn();
    } finally {
      span.end();
    }
  }
}

/** The process-wide tracer, recording through `recordMetric`. */
export const tracer = new Tracer();
