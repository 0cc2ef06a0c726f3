/**
 * ZeRO stage 1 (PyTorch's ZeroRedundancyOptimizer): each data-parallel rank keeps optimizer
 * state only for its partition of the parameters. Gradients are still all-reduced in full (so
 * clipping sees the global norm on every rank); then each rank drops the gradients it does not
 * own, steps, and every parameter is broadcast from its owner, which leaves all ranks with the
 * same weights as an unsharded step.
 *
 * The optimizer itself is unchanged: it creates state lazily for parameters that have a
 * gradient, so a rank that steps only its own parameters holds only their state, and its
 * `stateDict()` is indexed like the unsharded one (the same global parameter indices, a subset
 * present). That keeps checkpoints in one format: `consolidate()` gathers every rank's entries
 * on rank 0 and the result is an ordinary full state dict; loading one keeps this rank's entries.
 */
import { torch, DTYPE_SIZE, DEFAULT_BUCKET_BYTES, type Tensor, type DType, type distributed, type optim } from "../torch/index.ts";
import { allReduceNumbers, broadcastTensors } from "./data-parallel.ts";

type ProcessGroup = distributed.ProcessGroup;
type AnyOptimizer = optim.Optimizer<{ lr: number }>;
type StateDict = optim.OptimizerStateDict<{ lr: number }>;

/**
 * The owner rank of each tensor (by index): whole tensors, largest first, each to the rank with
 * the fewest elements so far (ties to the lowest rank). Deterministic, so every rank computes
 * the same partition from the same shapes.
 */
export function partitionByNumel(numels: readonly number[], worldSize: number): number[] {
  if (!(Number.isInteger(worldSize) && worldSize >= 1)) throw new RangeError(`worldSize must be an integer >= 1; got ${worldSize}`);
  const order = numels.map((n, i) => [n, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const load = new Array<number>(worldSize).fill(0);
  const owner = new Array<number>(numels.length);
  for (const [n, i] of order) {
    let r = 0;
    for (let k = 1; k < worldSize; k++) if (load[k]! < load[r]!) r = k;
    owner[i] = r;
    load[r]! += n;
  }
  return owner;
}

/** Shards `optimizer`'s state over `group` (see the file comment). Every method is collective unless noted. */
export class OptimizerStateSharding {
  readonly group: ProcessGroup;
  readonly optimizer: AnyOptimizer;
  /** The optimizer's parameters in state-dict order (its param groups concatenated). */
  readonly params: readonly Tensor[];
  /** Owner rank of each of `params`. */
  readonly owners: readonly number[];
  readonly #byRank: Tensor[][];
  readonly #bucketBytes: number;

  constructor(group: ProcessGroup, optimizer: AnyOptimizer, options: { bucketBytes?: number } = {}) {
    this.group = group;
    this.optimizer = optimizer;
    this.#bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    this.params = optimizer.paramGroups.flatMap((g) => g.params);
    this.owners = partitionByNumel(
      this.params.map((p) => p.numel),
      group.worldSize,
    );
    this.#byRank = Array.from({ length: group.worldSize }, (_, r) => this.params.filter((_, i) => this.owners[i] === r));
    // A given optimizer may arrive with state: keep only this rank's.
    this.dropForeignState();
  }

  /** This rank's parameters (not collective). */
  get localParams(): readonly Tensor[] {
    return this.#byRank[this.group.rank]!;
  }

  /** Drops the gradients of parameters other ranks own, so the optimizer steps (and makes state for) only ours. Not collective. */
  dropForeignGrads(): void {
    this.params.forEach((p, i) => {
      if (this.owners[i] !== this.group.rank) p.grad = null;
    });
  }

  /** Frees the state of parameters other ranks own (after loading a full state dict). Not collective. */
  dropForeignState(): void {
    this.optimizer.dropState(this.params.filter((_, i) => this.owners[i] !== this.group.rank));
  }

  /** After the local step: every parameter from its owner, one owner's buckets at a time. */
  broadcastParams(): void {
    for (let r = 0; r < this.group.worldSize; r++) broadcastTensors(this.group, this.#byRank[r]!, r, this.#bucketBytes);
  }

  /**
   * The full state dict on `to` (rank 0 by default), `null` on the others: each rank describes
   * its entries (step counts, tensor names, shapes, dtypes), then sends their tensors in buckets.
   * The returned tensors are new; the caller disposes them (`torch.dispose(sd.state)`).
   */
  consolidate(to = 0): StateDict | null {
    const local = this.optimizer.stateDict();
    type Entry = { index: number; step: number; tensors: [string, number[], DType][] };
    const mine: Entry[] = Object.entries(local.state).map(([index, s]) => ({
      index: Number(index),
      step: s.step,
      tensors: Object.entries(s.tensors).map(([name, t]) => [name, t.shape, t.dtype]),
    }));
    const all = allGatherJson(this.group, mine) as Entry[][];
    const out: StateDict["state"] = {};
    const receiving = this.group.rank === to;
    if (receiving) for (const [index, s] of Object.entries(local.state)) out[Number(index)] = { step: s.step, tensors: torch.tidy(() => mapValues(s.tensors, (t) => t.detach().clone())) };
    for (let r = 0; r < this.group.worldSize; r++) {
      if (r === to) continue;
      const items = all[r]!.flatMap((e) => e.tensors.map(([name, shape, dtype]) => ({ e, name, shape, dtype })));
      if (receiving) for (const e of all[r]!) out[e.index] = { step: e.step, tensors: {} };
      const sending = this.group.rank === r;
      for (const bucket of bucketsOf(items, (x) => x.dtype, (x) => x.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[x.dtype], this.#bucketBytes)) {
        torch.noGrad(() =>
          torch.tidy(() => {
            const dtype = bucket[0]!.dtype;
            const sizes = bucket.map((x) => x.shape.reduce((a, b) => a * b, 1));
            const total = sizes.reduce((a, b) => a + b, 0);
            const device = this.params[bucket[0]!.e.index]!.device;
            const flat = sending
              ? torch.cat(bucket.map((x) => local.state[x.e.index]!.tensors[x.name]!.detach().reshape(-1)))
              : torch.empty([total], { dtype, device });
            this.group.broadcast(flat, r).waitSync();
            if (!receiving) return;
            let offset = 0;
            bucket.forEach((x, k) => {
              out[x.e.index]!.tensors[x.name] = torch.keep(flat.narrow(0, offset, sizes[k]!).view(x.shape).clone());
              offset += sizes[k]!;
            });
          }),
        );
      }
    }
    return receiving ? { state: out, paramGroups: local.paramGroups } : null;
  }
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

/** Runs of items of one key, in order, each at most `bucketBytes` (a larger item is its own run). */
function bucketsOf<T>(items: readonly T[], key: (x: T) => string, bytes: (x: T) => number, bucketBytes: number): T[][] {
  const runs = new Map<string, { items: T[]; bytes: number }[]>();
  for (const x of items) {
    const list = runs.get(key(x)) ?? [{ items: [], bytes: 0 }];
    runs.set(key(x), list);
    let last = list[list.length - 1]!;
    if (last.items.length > 0 && last.bytes + bytes(x) > bucketBytes) {
      last = { items: [], bytes: 0 };
      list.push(last);
    }
    last.items.push(x);
    last.bytes += bytes(x);
  }
  return [...runs.values()].flat().map((r) => r.items).filter((b) => b.length > 0);
}

/** Every rank's JSON value, by rank (lengths first, then each rank's UTF-8 bytes broadcast from it). */
function allGatherJson(group: ProcessGroup, value: unknown): unknown[] {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const lengths = allReduceNumbers(
    group,
    Array.from({ length: group.worldSize }, (_, r) => (r === group.rank ? bytes.length : 0)),
  );
  return lengths.map((n, r) =>
    torch.tidy(() => {
      if (r === group.rank && group.worldSize === 1) return JSON.parse(new TextDecoder().decode(bytes));
      const t = r === group.rank ? torch.tensor(bytes, { device: group.device }) : torch.empty([n], { dtype: "uint8", device: group.device });
      group.broadcast(t, r).waitSync();
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(t.toFlatArray() as number[])));
    }),
  );
}
