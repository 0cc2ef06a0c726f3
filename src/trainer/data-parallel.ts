/**
 * Data parallelism over a c10d process group: every rank holds the whole model and trains on its
 * share of the batch; gradients are SUMMED across ranks (not averaged), because each rank's loss
 * is already normalised by the step's global token and sequence counts (the trainer all-reduces
 * those first), so the sum is exactly the gradient of the whole batch's loss.
 *
 * Gradients travel in buckets (PyTorch DDP's 25 MiB default). The trainer's default is the
 * tensor engine's `GradReducer`, which starts each bucket's all-reduce DURING backward as soon as
 * its gradients are in (DDP's overlap); `GradientAllReducer` here starts them all after backward
 * (`overlapGradReduce: false`), kept for comparison and as the simple reference. Both leave a
 * parameter that no rank gave a gradient without one, as a single process does.
 */
import { torch, DTYPE_SIZE, DEFAULT_BUCKET_BYTES, type Tensor, type distributed } from "../torch/index.ts";

type ProcessGroup = distributed.ProcessGroup;

export { DEFAULT_BUCKET_BYTES };

/** Copies rank `src`'s tensors into every rank's, in place (initial weights start identical). */
export function broadcastTensors(group: ProcessGroup, tensors: readonly Tensor[], src = 0): void {
  if (group.worldSize === 1) return;
  torch.noGrad(() => {
    for (const bucket of bucketsOf(tensors, DEFAULT_BUCKET_BYTES)) {
      torch.tidy(() => {
        const flat = torch.cat(bucket.map((t) => t.detach().reshape(-1)));
        group.broadcast(flat, src).waitSync();
        let offset = 0;
        for (const t of bucket) {
          t.copy_(flat.narrow(0, offset, t.numel).view(t.shape));
          offset += t.numel;
        }
      });
    }
  });
}

/** Sums plain numbers across ranks (float64, so token counts stay exact). */
export function allReduceNumbers(group: ProcessGroup, values: readonly number[], op: distributed.ReduceOp = "sum"): number[] {
  if (group.worldSize === 1) return [...values];
  return torch.tidy(() => {
    const t = torch.tensor([...values], { dtype: "float64", device: group.device }); // NCCL: on the rank's GPU
    group.allReduce(t, { op }).waitSync();
    return t.toFlatArray() as number[];
  });
}

/** Groups tensors of one dtype, in order, into runs of at most `bucketBytes` (a larger tensor is its own bucket). */
function bucketsOf(tensors: readonly Tensor[], bucketBytes: number): Tensor[][] {
  const byDtype = new Map<string, Tensor[][]>();
  for (const t of tensors) {
    const runs = byDtype.get(t.dtype) ?? [[]];
    byDtype.set(t.dtype, runs);
    let last = runs[runs.length - 1]!;
    const bytes = last.reduce((n, x) => n + x.numel * DTYPE_SIZE[x.dtype], 0);
    if (last.length > 0 && bytes + t.numel * DTYPE_SIZE[t.dtype] > bucketBytes) {
      last = [];
      runs.push(last);
    }
    last.push(t);
  }
  return [...byDtype.values()].flat().filter((b) => b.length > 0);
}

/** Sums the gradients of `params` across the group's ranks, in place. */
export class GradientAllReducer {
  readonly group: ProcessGroup;
  readonly #buckets: Tensor[][];

  /** `params`: the trainable tensors whose `.grad` the optimizer reads (same order on every rank). */
  constructor(group: ProcessGroup, params: readonly Tensor[], options: { bucketBytes?: number } = {}) {
    const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!(bucketBytes > 0)) throw new RangeError(`bucketBytes must be > 0; got ${bucketBytes}`);
    this.group = group;
    this.#buckets = bucketsOf(
      params.filter((p) => p.requiresGrad),
      bucketBytes,
    );
  }

  get bucketCount(): number {
    return this.#buckets.length;
  }

  /**
   * A parameter without a gradient on this rank (unused by its share of the batch) contributes
   * zeros, so every rank runs the same collectives and ends with the same gradients; one that no
   * rank gave a gradient is left without one.
   */
  allReduce(): void {
    if (this.group.worldSize === 1) return;
    const params = this.#buckets.flat();
    // Which parameters have a gradient on some rank (reading .grad makes handles: tidy frees them).
    const usedBy = allReduceNumbers(
      this.group,
      torch.tidy(() => params.map((p) => (p.grad === null ? 0 : 1))),
    );
    torch.noGrad(() =>
      torch.tidy(() => {
        const flats = this.#buckets.map((bucket) => torch.cat(bucket.map((p) => (p.grad ?? torch.zerosLike(p)).reshape(-1))));
        const works = flats.map((flat) => this.group.allReduce(flat));
        works.forEach((w, i) => {
          w.waitSync();
          let offset = 0;
          for (const p of this.#buckets[i]!) {
            // A view into the bucket: its storage lives on through the gradient after this tidy.
            p.grad = flats[i]!.narrow(0, offset, p.numel).view(p.shape);
            offset += p.numel;
          }
        });
      }),
    );
    params.forEach((p, i) => {
      if (usedBy[i] === 0) p.grad = null;
    });
  }
}
