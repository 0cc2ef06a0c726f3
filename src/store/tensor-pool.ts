/**
 * Retired tensors kept for reuse by a store that owns its tensors (the TCP server): a value's
 * memory is written again in place instead of being freed and allocated fresh, because fresh
 * pages cost a page fault each (a 500 MB put into new tensors spent about a third of its time
 * faulting on this VM). Tensors still being streamed to a reader are leased and only return to
 * the pool when the last lease ends.
 */
import { DTYPE_SIZE, type DType, type Tensor, torch } from "../torch/index.ts";

const slot = (dtype: DType, shape: number[]) => `${dtype}:${shape.join("x")}`;

export class TensorPool {
  readonly #free = new Map<string, Tensor[]>();
  readonly #leases = new Map<Tensor, number>();
  readonly #retiring = new Set<Tensor>();
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
    if (t === undefined) return torch.empty(shape, { dtype });
    this.#bytes -= sizeOf(t);
    return t;
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
    for (const list of this.#free.values()) list.forEach((t) => t.dispose());
    this.#free.clear();
    this.#bytes = 0;
  }

  #keep(t: Tensor): void {
    const n = sizeOf(t);
    if (t.isDisposed || n === 0 || this.#bytes + n > this.limitBytes) {
      if (!t.isDisposed) t.dispose();
      return;
    }
    const key = slot(t.dtype, t.shape);
    const list = this.#free.get(key) ?? [];
    list.push(t);
    this.#free.set(key, list);
    this.#bytes += n;
  }
}

const sizeOf = (t: Tensor) => t.numel * DTYPE_SIZE[t.dtype];
