/**
 * A few sampled trajectories per eval, for people to read: each is a list of text spans marked
 * trained (sampled by the policy, loss mask 1) or not (prompt, template, tool output). The app
 * appends them to `<run>/samples.jsonl`; the dashboard shows the latest step's with the trained
 * spans highlighted.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";

export interface TrajectorySpan {
  text: string;
  trained: boolean;
}

export interface TrajectorySample {
  step: number;
  title: string;
  reward: number;
  spans: TrajectorySpan[];
}

/** Splits decoded token runs by mask: consecutive tokens with the same mask become one span. */
export function trajectorySpans(ids: readonly number[], mask: readonly number[], decode: (ids: readonly number[]) => string): TrajectorySpan[] {
  const spans: TrajectorySpan[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j < ids.length && (mask[j] === 1) === (mask[i] === 1)) j++;
    spans.push({ text: decode(ids.slice(i, j)), trained: mask[i] === 1 });
    i = j;
  }
  return spans;
}

/** Appends samples as JSON lines (one line each; a reader never sees half a sample it keeps). */
export function appendTrajectorySamples(path: string, samples: readonly TrajectorySample[]): void {
  if (samples.length === 0) return;
  appendFileSync(path, samples.map((s) => JSON.stringify(s)).join("\n") + "\n");
}

/** The samples of the latest step in `path` (at most `max`); none when the file is absent. */
export function readLatestTrajectorySamples(path: string, max = 4): TrajectorySample[] {
  if (!existsSync(path)) return [];
  const all: TrajectorySample[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      all.push(JSON.parse(line) as TrajectorySample);
    } catch {
      // A line cut by a crash mid-append: skip it, keep the rest.
    }
  }
  const last = Math.max(-Infinity, ...all.map((s) => s.step));
  return all.filter((s) => s.step === last).slice(0, max);
}
