/**
 * Weights from the trainer to generators by a c10d broadcast (Gloo over TCP), the alternative
 * to a store: every rank of a process group holds the same state-dict layout; the `src` rank
 * (the trainer) `publish`es a version and every other rank `receive`s it into its preallocated
 * tensors. Large tensors are broadcast in place (no copy on either side); tensors below
 * `bucketBytes` are packed into flat uint8 buckets, so a model's many small norms and biases
 * cost a few collectives, not one each.
 *
 * Both sides must call at the same time (a collective): the controller tells generators to
 * `receive` (e.g. `updateWeights.fanout(v)`) while the trainer publishes. A receiver whose
 * layout differs from the src rank's fails at construction with a message naming the first
 * differing tensor (the src posts its layout in the group's store); each transfer starts with a
 * header (version, layout fingerprint). A dead peer or a stall fails the collective after the
 * group's `timeoutMs` (a peer that exits is usually noticed at once).
 */
import { type DType, DTYPE_SIZE, distributed, type Tensor, torch } from "../torch/index.ts";
import { crc32 } from "./crc32.ts";
import { StoreArgumentError, StoreError } from "./errors.ts";
import { hostContiguous } from "./tensors.ts";
import type { StateDict } from "./types.ts";

/**
 * @default 1 MiB: tensors at least this big go alone and in place; smaller ones share buckets
 * this big. Measured on a SmolLM2-135M state dict (538 MB): 1 MiB → 182 collectives, ~0.35 s;
 * 8-16 MiB buckets every layer matrix and spent 1.5-4 s on packing copies and fresh pages.
 */
export const DEFAULT_BUCKET_BYTES = 1 << 20;

export interface C10dWeightBroadcastOptions {
  /** The process group: the trainer and every generator that receives, each one rank. */
  group: distributed.ProcessGroup;
  /** The rank that publishes. @default 0 */
  src?: number;
  /** Bucket size, and the size from which a tensor is broadcast alone. @default DEFAULT_BUCKET_BYTES */
  bucketBytes?: number;
  /** Key prefix in the group's store for the layout (several broadcasters on one group). @default "weights" */
  name?: string;
}

/** A broadcast failed: a peer left, timed out, or holds another layout. */
export class WeightBroadcastError extends StoreError {
  override name = "WeightBroadcastError";
}

interface Slot {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
  /** Bucket index, or -1 for a tensor sent alone. */
  bucket: number;
  offset: number;
}

const describeLayout = (sd: StateDict): [string, DType, number[]][] => [...sd].map(([n, t]) => [n, t.dtype, t.shape]);

/** Sends (on `src`) or receives (elsewhere) versions of one state-dict layout. */
export class C10dWeightBroadcaster {
  readonly group: distributed.ProcessGroup;
  readonly src: number;
  readonly bucketBytes: number;
  readonly #layoutKey: string;
  readonly #slots: Slot[];
  readonly #buckets: Tensor[];
  readonly #order: { slot: number; bucket?: number }[];
  readonly #fingerprint: number;
  readonly #layoutJson: string;
  #broken: Error | undefined;
  #busy = false;

  /** @param layout a state dict with the shapes and dtypes every rank holds (its values are not read). */
  constructor(layout: StateDict, options: C10dWeightBroadcastOptions) {
    if (!(layout instanceof Map) || layout.size === 0) throw new StoreArgumentError("layout", "must be a non-empty Map<string, Tensor>", layout);
    if (!(options?.group instanceof distributed.ProcessGroup)) throw new StoreArgumentError("options.group", "must be a distributed.ProcessGroup", options?.group);
    this.group = options.group;
    this.src = options.src ?? 0;
    if (!Number.isInteger(this.src) || this.src < 0 || this.src >= this.group.worldSize) throw new StoreArgumentError("options.src", `must be a rank in [0, ${this.group.worldSize})`, this.src);
    this.bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!Number.isInteger(this.bucketBytes) || this.bucketBytes < 1) throw new StoreArgumentError("options.bucketBytes", "must be a positive integer", this.bucketBytes);
    this.#layoutKey = `${options.name ?? "weights"}/layout`;
    this.#layoutJson = JSON.stringify(describeLayout(layout));
    this.#fingerprint = crc32(Buffer.from(this.#layoutJson));
    // Plan: big tensors alone; small ones packed in order into buckets of at most bucketBytes.
    const sizes: number[] = [];
    this.#slots = [...layout].map(([name, t]) => {
      const byteLength = t.numel * DTYPE_SIZE[t.dtype];
      if (byteLength >= this.bucketBytes || byteLength === 0) return { name, dtype: t.dtype, shape: t.shape, byteLength, bucket: -1, offset: 0 };
      if (sizes.length === 0 || sizes[sizes.length - 1]! + byteLength > this.bucketBytes) sizes.push(0);
      const offset = sizes[sizes.length - 1]!;
      sizes[sizes.length - 1] = offset + byteLength;
      return { name, dtype: t.dtype, shape: t.shape, byteLength, bucket: sizes.length - 1, offset };
    });
    this.#buckets = sizes.map((n) => torch.empty([n], { dtype: "uint8" }));
    // The collectives in the order every rank issues them: a tensor alone at its place, a bucket after its last tensor.
    this.#order = [];
    this.#slots.forEach((s, i) => {
      if (s.bucket < 0) {
        if (s.byteLength > 0) this.#order.push({ slot: i });
      } else if (!this.#slots.slice(i + 1).some((x) => x.bucket === s.bucket)) this.#order.push({ slot: i, bucket: s.bucket });
    });
    // Receivers check their layout against the src rank's before any transfer: sizes that
    // differ inside a collective abort the process in Gloo, so this must fail first and clearly.
    if (this.group.rank === this.src) this.group.store.set(this.#layoutKey, this.#layoutJson);
    else if (this.group.store.get(this.#layoutKey) !== this.#layoutJson) throw new WeightBroadcastError(this.#layoutMismatch());
  }

  /** How many collectives one version takes (header included). */
  get collectives(): number {
    return 1 + this.#order.length;
  }

  /** On the `src` rank: sends `stateDict` (the layout's names, dtypes and shapes) as `version`. */
  async publish(version: number, stateDict: StateDict): Promise<void> {
    if (this.group.rank !== this.src) throw new StoreArgumentError("publish", `runs on the src rank ${this.src}; this is rank ${this.group.rank} (call receive)`);
    if (!Number.isInteger(version) || version < 0) throw new StoreArgumentError("version", "must be a non-negative integer", version);
    const tensors = this.#slots.map((s) => {
      const t = stateDict.get(s.name);
      if (t === undefined) throw new StoreArgumentError(`stateDict.get(${JSON.stringify(s.name)})`, "must be a tensor (the layout has it)");
      checkSame(s, t, "stateDict");
      return t;
    });
    if (stateDict.size !== this.#slots.length) throw new StoreArgumentError("stateDict", `must hold exactly the layout's ${this.#slots.length} tensors`, `${stateDict.size} tensors`);
    await this.#transfer(`publish(v${version})`, async (issue) => {
      const header = torch.tensor([version, this.#fingerprint], { dtype: "int64" });
      issue(header);
      const temps: Tensor[] = [header];
      try {
        const contiguous = (i: number) => {
          const t = hostContiguous(tensors[i]!);
          if (t !== tensors[i]) temps.push(t);
          return t;
        };
        // A bucket goes as soon as it is packed: packing the next overlaps sending this one.
        for (const op of this.#order) {
          if (op.bucket === undefined) issue(contiguous(op.slot));
          else {
            const bytes = this.#buckets[op.bucket]!.bytes();
            this.#slots.forEach((s, i) => s.bucket === op.bucket && bytes.set(contiguous(i).bytes(), s.offset));
            issue(this.#buckets[op.bucket]!);
          }
        }
        return () => temps.forEach((t) => t.dispose());
      } catch (err) {
        temps.forEach((t) => t.dispose());
        throw err;
      }
    });
  }

  /** On the other ranks: receives the next published version into `into`; returns its number. */
  async receive(into: StateDict): Promise<number> {
    if (this.group.rank === this.src) throw new StoreArgumentError("receive", `runs on ranks other than src ${this.src} (call publish)`);
    const targets = this.#slots.map((s) => {
      const t = into.get(s.name);
      if (t === undefined) throw new StoreArgumentError(`into.get(${JSON.stringify(s.name)})`, "must be a tensor (the layout has it)");
      checkSame(s, t, "into");
      if (t.device !== "cpu" || !t.isContiguous()) throw new StoreArgumentError(`into.get(${JSON.stringify(s.name)})`, "must be a contiguous CPU tensor");
      return t;
    });
    let version = -1;
    await this.#transfer("receive", async (issue) => {
      // Every receive is posted at once (the layout was checked at construction): Gloo then
      // writes arriving bytes straight into their destination instead of staging them.
      const header = torch.empty([2], { dtype: "int64" });
      const headerDone = issue(header);
      const bucketWorks = new Map<number, Promise<void>>();
      for (const op of this.#order) {
        if (op.bucket === undefined) issue(targets[op.slot]!);
        else bucketWorks.set(op.bucket, issue(this.#buckets[op.bucket]!));
      }
      await headerDone;
      const [v, fp] = header.toFlatArray() as [number, number];
      if (fp !== this.#fingerprint) throw new WeightBroadcastError(this.#layoutMismatch());
      version = v;
      // Unpack each bucket as soon as it is in, while the later ones still arrive.
      for (const [b, done] of bucketWorks) {
        await done;
        const bytes = this.#buckets[b]!.bytes();
        this.#slots.forEach((s, i) => s.bucket === b && targets[i]!.bytes().set(bytes.subarray(s.offset, s.offset + s.byteLength)));
      }
      return () => header.dispose();
    });
    return version;
  }

  /** Frees the buckets (the group stays the caller's). */
  dispose(): void {
    this.#buckets.forEach((b) => b.dispose());
    this.#broken ??= new WeightBroadcastError("the broadcaster was disposed");
  }

  /**
   * Runs one transfer: `body` issues broadcasts in order (every rank issues the same sequence);
   * all of them are awaited before returning. Any failure leaves the broadcaster unusable, as
   * the ranks no longer agree on where the stream of collectives stands.
   */
  async #transfer(what: string, body: (issue: (t: Tensor) => Promise<void>) => Promise<() => void>): Promise<void> {
    if (this.#broken) throw new WeightBroadcastError(`${what}: the broadcaster is unusable after an earlier failure (${this.#broken.message}); make a new process group`);
    if (this.#busy) throw new StoreArgumentError(what, "must not overlap another publish or receive on the same broadcaster");
    this.#busy = true;
    const works: Promise<void>[] = [];
    // Each collective is awaited only after the one before it: an async wait holds a libuv
    // thread-pool thread until its collective ends, and a peer that dies mid-transfer can leave
    // a Gloo send pending until the group's timeout. Waiting in order holds one thread per
    // transfer, not one per tensor (which could fill the pool and stall all of Node's file I/O).
    let previous: Promise<void> = Promise.resolve();
    const issue = (t: Tensor) => {
      const work = this.group.broadcast(t, this.src);
      const p = previous.then(
        () => work.wait(),
        (err) => {
          // An earlier collective failed: this one still holds its handle until it ends.
          void work.wait().catch(() => {});
          throw err;
        },
      );
      p.catch(() => {}); // reported through Promise.all below
      works.push(p);
      previous = p;
      return p;
    };
    try {
      const cleanup = await body(issue);
      try {
        await Promise.all(works);
      } finally {
        cleanup();
      }
    } catch (err) {
      await Promise.allSettled(works);
      this.#broken = err as Error;
      if (err instanceof WeightBroadcastError || err instanceof StoreArgumentError) throw err;
      throw new WeightBroadcastError(`${what} on rank ${this.group.rank} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#busy = false;
    }
  }

  #layoutMismatch(): string {
    let theirs: [string, DType, number[]][] = [];
    try {
      theirs = JSON.parse(this.group.store.get(this.#layoutKey));
    } catch {
      return `rank ${this.group.rank}'s layout differs from the src rank's (fingerprints differ; the src layout could not be read)`;
    }
    const mine = JSON.parse(this.#layoutJson) as [string, DType, number[]][];
    for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
      if (JSON.stringify(mine[i]) !== JSON.stringify(theirs[i])) {
        return `rank ${this.group.rank}'s state-dict layout differs from the src rank's at entry ${i}: src has ${JSON.stringify(theirs[i] ?? "nothing")}, this rank ${JSON.stringify(mine[i] ?? "nothing")}`;
      }
    }
    return `rank ${this.group.rank}'s layout fingerprint differs from the src rank's`;
  }
}

function checkSame(s: Slot, t: Tensor, where: string): void {
  const field = `${where}.get(${JSON.stringify(s.name)})`;
  if (t.dtype !== s.dtype) throw new StoreArgumentError(`${field}.dtype`, `must be ${s.dtype} (the layout's)`, t.dtype);
  const shape = t.shape;
  if (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) throw new StoreArgumentError(`${field}.shape`, `must be [${s.shape.join(", ")}] (the layout's)`, `[${shape.join(", ")}]`);
}
