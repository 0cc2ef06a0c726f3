/**
 * Gradients summed across a process group WHILE backward runs, as PyTorch DDP's Reducer does
 * (the work is native/src/grad-reducer.cc; nothing of it calls back into JavaScript).
 *
 * Parameters are put in ~25 MiB buckets in reverse order (backward produces the last layers'
 * gradients first). A hook on each parameter's gradient accumulator copies its finished gradient
 * into its bucket; a bucket whose parameters are all ready starts its asynchronous all-reduce
 * while backward goes on. `finish()` after backward puts in what never arrived (a parameter this
 * rank did not use: its gradient from earlier micro-batches, or zeros), waits for every bucket and
 * sets each target's `.grad` to the SUM over ranks times `scale`.
 *
 * @example
 * const reducer = new GradReducer(group, params);
 * for (const [i, mb] of microBatches.entries()) {
 *   reducer.requireSync = i === microBatches.length - 1; // accumulate locally until the last
 *   lossOf(mb).backward();
 * }
 * reducer.finish(); // every rank's .grad is now the sum
 */
import { native } from "./native.ts";
import type { Tensor } from "./tensor.ts";
import { DistributedError, type ProcessGroup } from "./distributed.ts";

/** PyTorch DDP's default bucket size. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export interface GradReducerOptions {
  /** Bucket size in bytes. @default 25 MiB */
  bucketBytes?: number;
  /**
   * Where each parameter's reduced gradient goes: `targets[i].grad` (a float32 master of a bf16
   * parameter, whose own gradient is then dropped). Buckets take the targets' dtype. @default params
   */
  targets?: readonly Tensor[];
  /** Parameter names for `finish()`'s report and `buckets()`. @default "params[i]" */
  names?: readonly string[];
}

export interface GradReduceReport {
  /** Buckets whose all-reduce started during backward (the others started in `finish`). */
  launchedInBackward: number;
  bucketCount: number;
  /** Parameters without a gradient from this rank's synced backward (sent what they had, or zeros). */
  locallyUnused: string[];
  /** Parameters no rank gave a gradient: left without one, as a single process would. */
  globallyUnused: string[];
  /** Buckets reduced again because a gradient was accumulated after they started. */
  lateBuckets: number[];
}

export class GradReducer {
  readonly group: ProcessGroup;
  readonly #id: number;
  readonly #names: readonly string[];
  #requireSync = true;
  #disposed = false;

  /** `params`: leaves that require grad, in the same order on every rank. */
  constructor(group: ProcessGroup, params: readonly Tensor[], options: GradReducerOptions = {}) {
    const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!(Number.isInteger(bucketBytes) && bucketBytes > 0)) throw new RangeError(`bucketBytes must be an integer > 0; got ${bucketBytes}`);
    const targets = options.targets ?? params;
    if (targets.length !== params.length) throw new RangeError(`targets must hold one tensor per parameter (${params.length}); got ${targets.length}`);
    if (options.names !== undefined && options.names.length !== params.length) throw new RangeError(`names must hold one name per parameter (${params.length}); got ${options.names.length}`);
    this.#names = options.names ?? params.map((_, i) => `params[${i}]`);
    this.group = group;
    this.#id = native.distReducerCreate(
      group.id,
      params.map((p) => p._h),
      targets.map((t) => t._h),
      bucketBytes,
    );
  }

  get #rid(): number {
    if (this.#disposed) throw new DistributedError("the GradReducer was disposed");
    return this.#id;
  }

  /**
   * Whether the next backward passes' gradients are reduced (DDP's `require_backward_grad_sync`):
   * false on all but the last micro-batch of an accumulated step, so they accumulate locally.
   */
  get requireSync(): boolean {
    return this.#requireSync;
  }
  set requireSync(on: boolean) {
    native.distReducerSetRequireSync(this.#rid, on);
    this.#requireSync = on;
  }

  /** Parameter names per bucket, in the order their all-reduces start. */
  buckets(): string[][] {
    return native.distReducerBuckets(this.#rid).map((b) => b.map((i) => this.#names[i]!));
  }

  /**
   * Ends the pass: starts the buckets backward did not complete, waits for all, and sets each
   * target's gradient to the sum over ranks times `scale`. Blocks; every rank must call it once
   * per synced backward, before any other collective. A peer that died or a timeout throws
   * `DistributedError`.
   */
  finish(options: { scale?: number } = {}): GradReduceReport {
    const scale = options.scale ?? 1;
    if (!Number.isFinite(scale)) throw new RangeError(`scale must be a finite number; got ${scale}`);
    const id = this.#rid;
    const where = `gradient all-reduce on rank ${this.group.rank} of ${this.group.worldSize}`;
    let r: ReturnType<typeof native.distReducerFinish>;
    try {
      r = native.distReducerFinish(id, scale, this.group.timeoutMs);
    } catch (err) {
      const e = err as Error;
      const why = e?.name === "CollectiveError" ? ` (a peer rank exited, or it timed out after ${this.group.timeoutMs} ms)` : "";
      throw new DistributedError(`${where} failed${why}: ${e?.message ?? String(err)}`, { cause: err });
    }
    const name = (i: number) => this.#names[i]!;
    return {
      launchedInBackward: r.launchedInBackward,
      bucketCount: native.distReducerBuckets(id).length,
      locallyUnused: r.locallyUnused.map(name),
      globallyUnused: r.globallyUnused.map(name),
      lateBuckets: r.lateBuckets,
    };
  }

  /** Drops a pass begun by backward without `finish` (after an error); gradients stay as they are. */
  reset(): void {
    native.distReducerReset(this.#rid);
  }

  /** Removes the hooks from the parameters. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    native.distReducerDestroy(this.#id);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
