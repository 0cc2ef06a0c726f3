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
import { torch, type Tensor, type DType, type distributed, type optim } from "../torch/index.ts";
import { allReduceNumbers } from "./data-parallel.ts";

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

  constructor(group: ProcessGroup, optimizer: AnyOptimizer) {
    this.group = group;
    this.optimizer = optimizer;
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

  /**
   * After the local step: every parameter from its owner, straight into the tensor (one
   * collective each, all started before the first wait). Flattened buckets would need bucket-sized
   * copies, and on a 15.7M-parameter model those kept ~47 MiB of the ~60 MiB the sharding saves
   * resident (BENCHMARKS.md).
   */
  broadcastParams(): void {
    const works = this.params.map((p, i) => this.group.broadcast(p, this.owners[i]!));
    waitAll(works);
  }

  /**
   * The full state dict on `to` (rank 0 by default), `null` on the others: each rank describes
   * its entries (step counts, tensor names, shapes, dtypes), then broadcasts their tensors one by
   * one (Gloo has no point-to-point here; ranks other than `to` receive into a scratch tensor).
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
      if (receiving) for (const e of all[r]!) out[e.index] = { step: e.step, tensors: {} };
      const sending = this.group.rank === r;
      for (const e of all[r]!) {
        for (const [name, shape, dtype] of e.tensors) {
          const device = this.params[e.index]!.device;
          const t = sending ? local.state[e.index]!.tensors[name]! : torch.empty(shape, { dtype, device });
          this.group.broadcast(t, r).waitSync();
          if (receiving) out[e.index]!.tensors[name] = t;
          else if (!sending) t.dispose();
        }
      }
    }
    return receiving ? { state: out, paramGroups: local.paramGroups } : null;
  }
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

/** Waits for every collective (each must be waited once), then throws the first failure. */
function waitAll(works: readonly distributed.Work[]): void {
  let first: unknown;
  for (const w of works) {
    try {
      w.waitSync();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
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
