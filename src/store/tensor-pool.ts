/**
 * Retired tensors kept for reuse by a store that owns its tensors (the TCP server): a value's
 * memory is written again in place instead of being freed and allocated fresh, because fresh
 * pages cost a page fault each (a 500 MB put into new tensors spent about a third of its time
 * faulting on this VM). Tensors still being streamed to a reader are leased and only return to
 * the pool when the last lease ends.
 *
 * The pool also caches each of its tensors' byte view: `Tensor.bytes()` makes an external
 * ArrayBuffer, and V8 counts its size as new external memory every time, so a few hundred calls
 * per 500 MB transfer cost ~0.1 s and extra full GCs. Only tensors the pool made are cached: no
 * one else can swap their storage (`setData_`) under the view.
 */
import { DTYPE_SIZE, type DType, type Tensor, torch } from "../torch/index.ts";

const slot = (dtype: DType, shape: number[]) => `${dtype}:${shape.join("x")}`;

export class TensorPool {
  readonly #free = new Map<string, Tensor[]>();
  readonly #leases = new Map<Tensor, number>();
  readonly #retiring = new Set<Tensor>();
  readonly #views = new WeakMap<Tensor, Uint8Array>();
  #bytes = 0;
  /** Largest number of bytes the pool keeps (the rest is freed). */
  limitBytes: number;

  constructor(limitBytes = 0) {
    this.limitBytes = limitBytes;
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A tensor of this dtype and shape: a retired one when there is one, else new (uninitialised). */
  take(dtype: DType, shape: number[]): Tensor {
    const list = this.#free.get(slot(dtype, shape));
    const t = list?.pop();
    if (t === undefined) {
      const fresh = torch.empty(shape, { dtype });
      this.#views.set(fresh, fresh.numel === 0 ? new Uint8Array(0) : fresh.bytes());
      return fresh;
    }
    this.#bytes -= sizeOf(t);
    return t;
  }

  /** The raw bytes of a tensor this pool made (cached), else a fresh view. */
  bytesOf(t: Tensor): Uint8Array {
    return this.#views.get(t) ?? (t.numel === 0 ? new Uint8Array(0) : t.bytes());
  }

  /** Gives back tensors nobody references any more (freed if the pool is full). */
  retire(tensors: Tensor[]): void {
    for (const t of tensors) {
      if (this.#leases.has(t)) this.#retiring.add(t);
      else this.#keep(t);
    }
  }

  /** Marks tensors as being read; returns the function that ends the lease. */
  lease(tensors: Tensor[]): () => void {
    for (const t of tensors) this.#leases.set(t, (this.#leases.get(t) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      for (const t of tensors) {
        const n = this.#leases.get(t)! - 1;
        if (n > 0) {
          this.#leases.set(t, n);
          continue;
        }
        this.#leases.delete(t);
        if (this.#retiring.delete(t)) this.#keep(t);
      }
    };
  }

  /** Frees everything held. */
  clear(): void {
    for (const list of this.#free.values()) list.forEach((t) => this.#dispose(t));
    this.#free.clear();
    this.#bytes = 0;
  }

  #keep(t: Tensor): void {
    const n = sizeOf(t);
    if (t.isDisposed || n === 0 || this.#bytes + n > this.limitBytes) {
      this.#dispose(t);
      return;
    }
    const key = slot(t.dtype, t.shape);
    const list = this.#free.get(key) ?? [];
    list.push(t);
    this.#free.set(key, list);
    this.#bytes += n;
  }

  #dispose(t: Tensor): void {
    this.#views.delete(t);
    if (!t.isDisposed) t.dispose();
  }
}

const sizeOf = (t: Tensor) => t.numel * DTYPE_SIZE[t.dtype];
