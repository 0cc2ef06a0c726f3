/**
 * The preallocated KV cache: per layer one keys and one values tensor (slots, Hkv, columns, D).
 * A slot is one sequence (a cache row); a column is a storage position.
 *
 * Layout — "aligned columns, per-row positions": all live sequences write their next token's
 * k/v at the same column `col`, so a decode step stores the whole batch with one `copy_` per
 * layer (the engine has no in-place scatter). Each slot's tokens occupy the contiguous columns
 * [start[slot], col); its RoPE position is `column - start[slot]`, independent of the column,
 * and a boolean mask hides other columns. Since RoPE is applied before caching, where a token is
 * stored does not matter — only its position id. A joining prompt of length T is written to
 * [col - T, col) (like left padding, but with true per-row positions); when `col` is too small
 * for it, or reaches the end of the buffer, all live columns move together (one block copy per
 * layer) — every slot ends at `col`, so one shift suits all.
 *
 * Shared prompts: the n samples of a group get identical copies of the prompt's k/v (written by
 * one prefill). The cache remembers the group and where its prompt ends, and tells attention
 * (`CachedKv.sharedPrefix`) to read those columns from one live member for all of them, so
 * decode streams a group's prompt from memory once per layer instead of n times.
 */
import { torch, type DType, type Tensor } from "../torch/index.ts";
import type { CachedKv, KvCacheHook } from "../models/index.ts";

export interface KvCacheOptions {
  numLayers: number;
  numSlots: number;
  numKvHeads: number;
  headDim: number;
  /** Columns per slot (≥ the longest sequence + 1). */
  columns: number;
  /** @default "float32" */
  dtype?: DType;
  /** @default "cpu" */
  device?: string;
}

export class KvCache {
  readonly keys: Tensor[] = [];
  readonly values: Tensor[] = [];
  readonly numSlots: number;
  readonly columns: number;
  /** Next write column (shared by every slot). */
  col = 0;
  /** First column of each slot's sequence; a free slot has start = col (empty). */
  readonly start: Int32Array;
  readonly #live: boolean[];
  /** Group of the slot's shared prompt (-1: none) and the column where that prompt ends. */
  readonly #group: Int32Array;
  readonly #promptEnd: Int32Array;
  #nextGroup = 0;

  constructor(options: KvCacheOptions) {
    const { numLayers, numSlots, numKvHeads, headDim, columns } = options;
    this.numSlots = numSlots;
    this.columns = columns;
    this.start = new Int32Array(numSlots);
    this.#live = new Array<boolean>(numSlots).fill(false);
    this.#group = new Int32Array(numSlots).fill(-1);
    this.#promptEnd = new Int32Array(numSlots);
    // Zero-filled: masked columns are multiplied by 0 in attention, and 0 * NaN would be NaN.
    for (let l = 0; l < numLayers; l++) {
      this.keys.push(torch.keep(torch.zeros([numSlots, numKvHeads, columns, headDim], { dtype: options.dtype, device: options.device })));
      this.values.push(torch.keep(torch.zeros([numSlots, numKvHeads, columns, headDim], { dtype: options.dtype, device: options.device })));
    }
  }

  get dtype(): DType {
    return this.keys[0]?.dtype ?? "float32";
  }

  isLive(slot: number): boolean {
    return this.#live[slot]!;
  }
  get numFree(): number {
    return this.#live.filter((x) => !x).length;
  }
  /** One past the highest live slot: the decode batch covers slots [0, batchRows). */
  get batchRows(): number {
    for (let s = this.numSlots - 1; s >= 0; s--) if (this.#live[s]) return s + 1;
    return 0;
  }
  /** Tokens held by `slot`. */
  length(slot: number): number {
    return this.col - this.start[slot]!;
  }

  /** `n` free slots, lowest first, preferring a contiguous run (one copy per layer at prefill). */
  allocate(n: number): number[] {
    const free = this.#live.map((l, i) => (l ? -1 : i)).filter((i) => i >= 0);
    if (free.length < n) throw new RangeError(`KvCache.allocate: ${n} slots requested, ${free.length} free`);
    let chosen = free.slice(0, n);
    for (let i = 0; i + n <= free.length; i++) {
      if (free[i + n - 1]! - free[i]! === n - 1) {
        chosen = free.slice(i, i + n);
        break;
      }
    }
    for (const s of chosen) this.#live[s] = true;
    return chosen;
  }

  /**
   * Moves a live sequence from slot `from` to the free slot `to` (one copy of its columns per
   * layer), so the decode batch [0, batchRows) can shrink when sequences below it finished.
   */
  move(from: number, to: number): void {
    if (!this.#live[from] || this.#live[to]) throw new RangeError(`KvCache.move: slot ${from} must be live and slot ${to} free`);
    const start = this.start[from]!;
    const len = this.col - start;
    if (len > 0) {
      torch.tidy(() => {
        for (const t of [...this.keys, ...this.values]) t.narrow(0, to, 1).narrow(2, start, len).copy_(t.narrow(0, from, 1).narrow(2, start, len));
      });
    }
    this.#live[to] = true;
    this.start[to] = start;
    this.#group[to] = this.#group[from]!;
    this.#promptEnd[to] = this.#promptEnd[from]!;
    this.release(from);
  }

  release(slot: number): void {
    this.#live[slot] = false;
    this.start[slot] = this.col;
    this.#group[slot] = -1;
  }

  /** Lowest start over live slots (col when none). */
  #lo(): number {
    let lo = this.col;
    for (let s = 0; s < this.numSlots; s++) if (this.#live[s]) lo = Math.min(lo, this.start[s]!);
    return lo;
  }

  /** Moves the live columns [lo, col) so they end at `newCol` (one block copy per layer). */
  #shiftTo(newCol: number): void {
    const lo = this.#lo();
    const width = this.col - lo;
    if (newCol - width < 0 || newCol > this.columns) throw new RangeError(`KvCache: cannot place ${width} live columns to end at ${newCol} of ${this.columns}`);
    if (width > 0 && newCol !== this.col) {
      torch.tidy(() => {
        for (const t of [...this.keys, ...this.values]) {
          const moved = t.narrow(2, lo, width).clone(); // clone: source and destination may overlap
          t.narrow(2, newCol - width, width).copy_(moved);
        }
      });
    }
    const delta = newCol - this.col;
    for (let s = 0; s < this.numSlots; s++) {
      this.start[s] = this.#live[s] ? this.start[s]! + delta : newCol;
      if (this.#live[s]) this.#promptEnd[s] = this.#promptEnd[s]! + delta;
    }
    this.col = newCol;
  }

  /** Makes room for a prompt of `length` tokens ending at `col` (shifts right if col < length). */
  reserveForPrompt(length: number): void {
    if (this.col >= length && this.col < this.columns) return;
    const lo = this.#lo();
    const width = this.col - lo;
    const target = Math.max(length, width);
    if (target + 1 > this.columns) throw new RangeError(`KvCache: a ${length}-token prompt does not fit ${this.columns} columns`);
    this.#shiftTo(target);
  }

  /** Before a decode step: guarantees a free column at `col` (shifts live columns to the left). */
  reserveDecodeColumn(): void {
    if (this.col < this.columns) return;
    const lo = this.#lo();
    this.#shiftTo(this.col - lo);
    if (this.col >= this.columns) throw new RangeError("KvCache: a sequence fills every column; raise the cache length");
  }

  /**
   * Hook for prefilling one prompt of `length` tokens into `slots` (the prompt was computed
   * once; its k/v are written to every slot of the group). Attention itself is plain causal.
   */
  prefillHook(slots: number[], length: number): KvCacheHook {
    const from = this.col - length;
    const contiguous = slots.every((s, i) => s === slots[0]! + i);
    const group = slots.length > 1 ? this.#nextGroup++ : -1;
    for (const s of slots) {
      this.start[s] = from;
      this.#group[s] = group;
      this.#promptEnd[s] = this.col;
    }
    return {
      update: (layer: number, k: Tensor, v: Tensor): CachedKv => {
        for (const [cache, src] of [[this.keys[layer]!, k], [this.values[layer]!, v]] as const) {
          const [, H, T, D] = src.shape as [number, number, number, number];
          if (contiguous) {
            cache.narrow(0, slots[0]!, slots.length).narrow(2, from, T).copy_(src.expand(slots.length, H, T, D)); // (n, Hkv, T, D)
          } else {
            for (const s of slots) cache.narrow(0, s, 1).narrow(2, from, T).copy_(src);
          }
        }
        return { keys: k, values: v, isCausal: true };
      },
    };
  }

  /**
   * Hook for one decode step over slots [0, rows): each row's new k/v go to column `col`;
   * attention sees columns [lo, col] with a per-row mask. Call `advance()` after the forward.
   */
  decodeHook(rows: number): KvCacheHook {
    const lo = Math.min(this.#lo(), this.col);
    const width = this.col + 1 - lo;
    const starts = torch.tensor(Int32Array.from(this.start.subarray(0, rows)), { dtype: "int64", device: this.keys[0]?.device }).view(rows, 1, 1, 1);
    const cols = torch.arange(lo, this.col + 1, { device: this.keys[0]?.device }).view(1, 1, 1, width);
    const mask = cols.ge(starts); // (rows, 1, 1, width): true where the column belongs to the row
    const sharedPrefix = this.#sharedPrefix(rows, lo, width);
    return {
      update: (layer: number, k: Tensor, v: Tensor): CachedKv => {
        const kc = this.keys[layer]!.narrow(0, 0, rows);
        const vc = this.values[layer]!.narrow(0, 0, rows);
        kc.narrow(2, this.col, 1).copy_(k); // (rows, Hkv, 1, D)
        vc.narrow(2, this.col, 1).copy_(v);
        return { keys: kc.narrow(2, lo, width), values: vc.narrow(2, lo, width), attnMask: mask, isCausal: false, sharedPrefix };
      },
    };
  }

  /**
   * Per row of the decode window [lo, lo + width): the lowest live slot of its prompt group and
   * how many leading window columns hold that shared prompt (0 and itself when not shared);
   * null when no two rows share one.
   */
  #sharedPrefix(rows: number, lo: number, width: number): { rows: Tensor; keys: Tensor } | null {
    const source = new Int32Array(rows);
    const keys = new Int32Array(rows);
    const first = new Map<number, number>();
    let shared = false;
    for (let s = 0; s < rows; s++) {
      source[s] = s;
      const g = this.#group[s]!;
      if (!this.#live[s] || g < 0) continue;
      const owner = first.get(g);
      if (owner === undefined) first.set(g, s);
      else shared = true;
      source[s] = owner ?? s;
      keys[s] = Math.max(0, Math.min(width, this.#promptEnd[s]! - lo));
    }
    if (!shared) return null;
    // Host tensors whatever the cache's device: only the fused CPU attention reads the hint.
    return { rows: torch.tensor(source, { dtype: "int64" }), keys: torch.tensor(keys, { dtype: "int64" }) };
  }

  /** After a decode step: the written column now belongs to every slot of the batch. */
  advance(): void {
    this.col += 1;
    for (let s = 0; s < this.numSlots; s++) if (!this.#live[s]) this.start[s] = this.col;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
