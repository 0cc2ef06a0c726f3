/**
 * `Tensor`: a JavaScript view of one libtorch tensor. Method names follow PyTorch in camelCase
 * (`x.logSoftmax(-1)`, `x.maskedFill(mask, 0)`); in-place ops keep the trailing underscore.
 * A dim is the one obvious positional argument; everything optional is an options object.
 */
import { native, type Handle } from "./native.ts";
import { type DType, DTYPES, dtypeCode, dtypeFromCode } from "./dtype.ts";
import { BINARY, REDUCE, UNARY } from "./op-codes.ts";
import { TRACKED, track, type Tracked } from "./scope.ts";

export type Scalar = number;
export type TensorOrScalar = Tensor | number;
export type Dims = number | number[];
export type Device = string;

export interface ReduceOptions {
  /** Keep reduced dims with size 1. @default false */
  keepdim?: boolean;
}
export interface SumOptions extends ReduceOptions {
  /** Accumulate and return in this dtype. */
  dtype?: DType;
}
export interface StdOptions extends ReduceOptions {
  /** Bessel's correction (divide by N-1). @default true */
  unbiased?: boolean;
}
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}
export interface BackwardOptions {
  /** Keep the graph for another backward pass. @default false */
  retainGraph?: boolean;
}

/**
 * @internal A tensor's handle or a scalar, as the addon takes them. Handles are BigInts, so
 * anything else that is not a number or boolean (a BigInt from the caller included) is refused
 * here rather than misread as a tensor.
 */
export const h = (t: TensorOrScalar | boolean, argument: string): Handle | number | boolean => {
  if (t instanceof Tensor) return t._h;
  if (typeof t === "number" || typeof t === "boolean") return t;
  throw new TypeError(`argument '${argument}' must be a Tensor or a number; got ${t === null ? "null" : typeof t === "object" ? Object.prototype.toString.call(t) : typeof t}`);
};
const wrap = (handle: Handle): Tensor => new Tensor(handle);
const dimList = (dim: Dims | undefined): number[] | null => (dim === undefined ? null : Array.isArray(dim) ? dim : [dim]);

function shapeArgs(args: (number | number[])[], name: string): number[] {
  const shape = args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
  for (const d of shape) {
    if (!Number.isInteger(d)) throw new TypeError(`argument '${name}' must be integers; got ${JSON.stringify(args)}`);
  }
  return shape;
}

function isDType(x: unknown): x is DType {
  return typeof x === "string" && (DTYPES as readonly string[]).includes(x);
}

// Last-resort release of tensors that were never disposed. Only tensors that outlive every
// `tidy` scope need it, and registering costs more than the rest of a small op, so escaped
// tensors wait in `pending` and are registered in batches (every 4096, or when the event loop
// turns) — by then most temporaries have been disposed and are skipped.
const finalizer = new FinalizationRegistry<Handle>((handle) => native.dispose(handle));
const pending: Tensor[] = [];
let flushScheduled = false;
const NEW = 0, PENDING = 1, REGISTERED = 2, DISPOSED = 3;

function flushPending(): void {
  flushScheduled = false;
  for (const t of pending) {
    if (t._state !== PENDING) continue;
    t._state = REGISTERED;
    finalizer.register(t, t._h, t);
  }
  pending.length = 0;
}

export class Tensor implements Tracked {
  declare readonly [TRACKED]: true;
  /** @internal native handle */
  readonly _h: Handle;
  /** @internal 0 new, 1 waiting for GC registration, 2 registered, 3 disposed */
  _state: number;

  /** @internal use the creation functions (`torch.tensor`, `torch.zeros`, ...) */
  constructor(handle: Handle) {
    this._h = handle;
    this._state = NEW;
    track(this);
  }

  /** @internal see `Tracked.escaped` */
  escaped(): void {
    if (this._state !== NEW) return;
    this._state = PENDING;
    pending.push(this);
    if (pending.length >= 4096) flushPending();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushPending).unref();
    }
  }

  // ---- metadata -------------------------------------------------------------------------
  get shape(): number[] { return native.shape(this._h); }
  get dtype(): DType { return dtypeFromCode(native.dtype(this._h)); }
  get device(): Device { return native.device(this._h); }
  get ndim(): number { return this.shape.length; }
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`dim ${dim} out of range for a ${s.length}-d tensor`);
    return s[d]!;
  }
  isContiguous(): boolean { return native.isContiguous(this._h); }
  get isDisposed(): boolean { return this._state === DISPOSED; }

  // ---- memory ---------------------------------------------------------------------------
  /** Frees the tensor's memory now (views keep their shared storage alive). Idempotent. */
  dispose(): void {
    if (this._state === DISPOSED) return;
    if (this._state === REGISTERED) finalizer.unregister(this);
    this._state = DISPOSED;
    native.dispose(this._h);
  }
  [Symbol.dispose](): void { this.dispose(); }

  // ---- conversion -----------------------------------------------------------------------
  item(): number {
    const v = native.item(this._h);
    return typeof v === "boolean" ? Number(v) : v;
  }
  /** Flat typed array copy: float32/bf16/f16 → Float32Array, int64 → BigInt64Array, bool → Uint8Array. */
  dataSync(): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array {
    const dt = this.dtype;
    if (dt === "bfloat16" || dt === "float16") {
      const f = native.to(this._h, dtypeCode("float32"), "cpu");
      try { return bytesAs("float32", native.toBuffer(f)); } finally { native.dispose(f); }
    }
    return bytesAs(dt, native.toBuffer(this._h));
  }
  /**
   * The raw bytes of a contiguous CPU tensor, without a copy: writes through the view change the
   * tensor. The view holds a reference to the storage, so it stays valid after `dispose()`.
   * For I/O paths (safetensors, shared-memory weight transfer).
   */
  bytes(): Uint8Array {
    return new Uint8Array(native.dataView(this._h));
  }
  /** Flat array of JS numbers (int64 values beyond 2^53 lose precision). */
  toFlatArray(): number[] {
    const d = this.dataSync();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }
  /** Nested JS arrays in the tensor's shape (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.toFlatArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0]!;
    let i = 0;
    const build = (d: number): NestedArray => {
      const out: NestedArray[] = [];
      for (let k = 0; k < shape[d]!; k++) out.push(d === shape.length - 1 ? flat[i++]! : build(d + 1));
      return out;
    };
    return build(0);
  }
  toString(): string {
    if (this.isDisposed) return "Tensor(disposed)";
    const n = this.numel;
    const values = n <= 20 ? JSON.stringify(this.toArray()) : `[${this.toFlatArray().slice(0, 8).join(", ")}, …]`;
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device}, ${values})`;
  }

  // ---- views and shape --------------------------------------------------------------------
  view(...shape: (number | number[])[]): Tensor { return wrap(native.view(this._h, shapeArgs(shape, "shape"))); }
  reshape(...shape: (number | number[])[]): Tensor { return wrap(native.reshape(this._h, shapeArgs(shape, "shape"))); }
  transpose(dim0: number, dim1: number): Tensor { return wrap(native.transpose(this._h, dim0, dim1)); }
  /** Transpose of a 2-d tensor. */
  t(): Tensor { return this.transpose(0, 1); }
  permute(...dims: (number | number[])[]): Tensor { return wrap(native.permute(this._h, shapeArgs(dims, "dims"))); }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(this._h, dim)); }
  squeeze(dim?: number): Tensor { return wrap(dim === undefined ? native.squeeze(this._h) : native.squeeze(this._h, dim)); }
  expand(...shape: (number | number[])[]): Tensor { return wrap(native.expand(this._h, shapeArgs(shape, "shape"))); }
  expandAs(other: Tensor): Tensor { return this.expand(other.shape); }
  contiguous(): Tensor { return wrap(native.contiguous(this._h)); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(native.narrow(this._h, dim, start, length)); }
  select(dim: number, index: number): Tensor { return wrap(native.select(this._h, dim, index)); }
  /** Python's `x[..., start:end:step]` along `dim`; negative and omitted bounds as in Python. */
  slice(dim: number, start = 0, end: number = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    return wrap(native.slice(this._h, dim, start, end, step));
  }
  split(splitSize: number | number[], dim = 0): Tensor[] { return native.split(this._h, splitSize, dim).map(wrap); }
  chunk(chunks: number, dim = 0): Tensor[] { return native.chunk(this._h, chunks, dim).map(wrap); }
  flatten(startDim = 0, endDim = -1): Tensor { return wrap(native.flatten(this._h, startDim, endDim)); }
  clone(): Tensor { return wrap(native.clone(this._h)); }
  /** A new tensor sharing storage, cut from the autograd graph. */
  detach(): Tensor { return wrap(native.detach(this._h)); }
  /** A second handle to the same tensor (same storage, same autograd identity). */
  shallowClone(): Tensor { return wrap(native.alias(this._h)); }
  repeat(...repeats: (number | number[])[]): Tensor { return wrap(native.repeat(this._h, shapeArgs(repeats, "repeats"))); }
  tril(diagonal = 0): Tensor { return wrap(native.tril(this._h, diagonal)); }
  triu(diagonal = 0): Tensor { return wrap(native.triu(this._h, diagonal)); }
  flip(...dims: (number | number[])[]): Tensor { return wrap(native.flip(this._h, shapeArgs(dims, "dims"))); }

  // ---- dtype and device -------------------------------------------------------------------
  /** `to('bfloat16')`, `to('cuda:0')` or `to({ dtype, device })`. */
  to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor {
    if (typeof target === "string") {
      return isDType(target)
        ? wrap(native.to(this._h, dtypeCode(target), null))
        : wrap(native.to(this._h, null, target));
    }
    if (typeof target !== "object" || target === null) {
      throw new TypeError("argument 'target' of to() must be a dtype, a device or { dtype, device }");
    }
    return wrap(native.to(this._h, target.dtype ? dtypeCode(target.dtype) : null, target.device ?? null));
  }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  bfloat16(): Tensor { return this.to("bfloat16"); }
  half(): Tensor { return this.to("float16"); }
  long(): Tensor { return this.to("int64"); }
  int(): Tensor { return this.to("int32"); }
  bool(): Tensor { return this.to("bool"); }
  cpu(): Tensor { return this.to({ device: "cpu" }); }
  /**
   * A contiguous CPU copy in page-locked (pinned) memory when this tensor is on a GPU, so the
   * device→host copy runs at full bus speed; a CPU tensor gives `contiguous()` (itself when it is).
   */
  cpuPinned(): Tensor { return wrap(native.toHostPinned(this._h)); }
  /** Whether the memory is page-locked (only CPU tensors made for device transfers are). */
  isPinned(): boolean { return native.isPinned(this._h); }

  // ---- elementwise -------------------------------------------------------------------------
  add(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.add, this._h, h(other, "other"))); }
  sub(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.sub, this._h, h(other, "other"))); }
  mul(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.mul, this._h, h(other, "other"))); }
  div(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.div, this._h, h(other, "other"))); }
  pow(exponent: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.pow, this._h, h(exponent, "exponent"))); }
  /** `scalar - this` */
  rsub(scalar: number): Tensor { return wrap(native.binary(BINARY.sub, this._h, scalar, true)); }
  /** `scalar / this` */
  rdiv(scalar: number): Tensor { return wrap(native.binary(BINARY.div, this._h, scalar, true)); }
  remainder(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.remainder, this._h, h(other, "other"))); }
  floorDivide(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.floorDivide, this._h, h(other, "other"))); }
  minimum(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.minimum, this._h, h(other, "other"))); }
  maximum(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.maximum, this._h, h(other, "other"))); }
  eq(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.eq, this._h, h(other, "other"))); }
  ne(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.ne, this._h, h(other, "other"))); }
  lt(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.lt, this._h, h(other, "other"))); }
  le(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.le, this._h, h(other, "other"))); }
  gt(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.gt, this._h, h(other, "other"))); }
  ge(other: TensorOrScalar): Tensor { return wrap(native.binary(BINARY.ge, this._h, h(other, "other"))); }
  logicalAnd(other: TensorOrScalar | boolean): Tensor { return wrap(native.binary(BINARY.logicalAnd, this._h, h(other, "other"))); }
  logicalOr(other: TensorOrScalar | boolean): Tensor { return wrap(native.binary(BINARY.logicalOr, this._h, h(other, "other"))); }

  exp(): Tensor { return wrap(native.unary(UNARY.exp, this._h)); }
  log(): Tensor { return wrap(native.unary(UNARY.log, this._h)); }
  sqrt(): Tensor { return wrap(native.unary(UNARY.sqrt, this._h)); }
  rsqrt(): Tensor { return wrap(native.unary(UNARY.rsqrt, this._h)); }
  abs(): Tensor { return wrap(native.unary(UNARY.abs, this._h)); }
  neg(): Tensor { return wrap(native.unary(UNARY.neg, this._h)); }
  sigmoid(): Tensor { return wrap(native.unary(UNARY.sigmoid, this._h)); }
  tanh(): Tensor { return wrap(native.unary(UNARY.tanh, this._h)); }
  silu(): Tensor { return wrap(native.unary(UNARY.silu, this._h)); }
  relu(): Tensor { return wrap(native.unary(UNARY.relu, this._h)); }
  gelu(): Tensor { return wrap(native.unary(UNARY.gelu, this._h)); }
  sin(): Tensor { return wrap(native.unary(UNARY.sin, this._h)); }
  cos(): Tensor { return wrap(native.unary(UNARY.cos, this._h)); }
  reciprocal(): Tensor { return wrap(native.unary(UNARY.reciprocal, this._h)); }
  square(): Tensor { return wrap(native.unary(UNARY.square, this._h)); }
  log1p(): Tensor { return wrap(native.unary(UNARY.log1p, this._h)); }
  expm1(): Tensor { return wrap(native.unary(UNARY.expm1, this._h)); }
  floor(): Tensor { return wrap(native.unary(UNARY.floor, this._h)); }
  ceil(): Tensor { return wrap(native.unary(UNARY.ceil, this._h)); }
  round(): Tensor { return wrap(native.unary(UNARY.round, this._h)); }
  sign(): Tensor { return wrap(native.unary(UNARY.sign, this._h)); }
  logicalNot(): Tensor { return wrap(native.unary(UNARY.logicalNot, this._h)); }
  isnan(): Tensor { return wrap(native.unary(UNARY.isnan, this._h)); }
  isinf(): Tensor { return wrap(native.unary(UNARY.isinf, this._h)); }
  isfinite(): Tensor { return wrap(native.unary(UNARY.isfinite, this._h)); }
  logSigmoid(): Tensor { return wrap(native.unary(UNARY.logSigmoid, this._h)); }
  erf(): Tensor { return wrap(native.unary(UNARY.erf, this._h)); }
  /** Clamp to [min, max]; either bound may be null. */
  clamp(min: number | null, max: number | null = null): Tensor { return wrap(native.clamp(this._h, min, max)); }
  clampMin(min: number): Tensor { return this.clamp(min, null); }
  clampMax(max: number): Tensor { return this.clamp(null, max); }
  maskedFill(mask: Tensor, value: TensorOrScalar | boolean): Tensor { return wrap(native.maskedFill(this._h, mask._h, h(value, "value"))); }

  // ---- in place ------------------------------------------------------------------------------
  add_(other: TensorOrScalar): this { native.binaryInplace(BINARY.add, this._h, h(other, "other") as Handle | number); return this; }
  sub_(other: TensorOrScalar): this { native.binaryInplace(BINARY.sub, this._h, h(other, "other") as Handle | number); return this; }
  mul_(other: TensorOrScalar): this { native.binaryInplace(BINARY.mul, this._h, h(other, "other") as Handle | number); return this; }
  div_(other: TensorOrScalar): this { native.binaryInplace(BINARY.div, this._h, h(other, "other") as Handle | number); return this; }
  copy_(src: Tensor): this { native.copy_(this._h, src._h); return this; }
  fill_(value: number | boolean): this { native.fill_(this._h, value); return this; }
  zero_(): this { native.zero_(this._h); return this; }
  uniform_(low = 0, high = 1): this { native.uniform_(this._h, low, high); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this._h, mean, std); return this; }
  /** Replaces this tensor's data (shape, dtype, device) with `src`'s, keeping its identity. */
  setData_(src: Tensor): this { native.setData(this._h, src._h); return this; }

  // ---- reductions ----------------------------------------------------------------------------
  sum(dim?: Dims, options: SumOptions = {}): Tensor {
    return wrap(native.reduce(REDUCE.sum, this._h, dimList(dim), options.keepdim ?? false, options.dtype ? dtypeCode(options.dtype) : null));
  }
  mean(dim?: Dims, options: SumOptions = {}): Tensor {
    return wrap(native.reduce(REDUCE.mean, this._h, dimList(dim), options.keepdim ?? false, options.dtype ? dtypeCode(options.dtype) : null));
  }
  amax(dim?: Dims, options: ReduceOptions = {}): Tensor { return wrap(native.reduce(REDUCE.amax, this._h, dimList(dim), options.keepdim ?? false)); }
  amin(dim?: Dims, options: ReduceOptions = {}): Tensor { return wrap(native.reduce(REDUCE.amin, this._h, dimList(dim), options.keepdim ?? false)); }
  std(dim?: Dims, options: StdOptions = {}): Tensor {
    return wrap(native.reduce(REDUCE.std, this._h, dimList(dim), options.keepdim ?? false, options.unbiased ?? true));
  }
  var(dim?: Dims, options: StdOptions = {}): Tensor {
    return wrap(native.reduce(REDUCE.var, this._h, dimList(dim), options.keepdim ?? false, options.unbiased ?? true));
  }
  logsumexp(dim?: Dims, options: ReduceOptions = {}): Tensor {
    return wrap(native.reduce(REDUCE.logsumexp, this._h, dimList(dim), options.keepdim ?? false));
  }
  prod(dim?: number, options: ReduceOptions = {}): Tensor { return wrap(native.reduce(REDUCE.prod, this._h, dimList(dim), options.keepdim ?? false)); }
  all(dim?: number, options: ReduceOptions = {}): Tensor { return wrap(native.reduce(REDUCE.all, this._h, dimList(dim), options.keepdim ?? false)); }
  any(dim?: number, options: ReduceOptions = {}): Tensor { return wrap(native.reduce(REDUCE.any, this._h, dimList(dim), options.keepdim ?? false)); }
  /** Without a dim: the maximum value. With a dim: `{ values, indices }` like PyTorch. */
  max(): Tensor;
  max(dim: number, options?: ReduceOptions): ValuesIndices;
  max(dim?: number, options: ReduceOptions = {}): Tensor | ValuesIndices {
    if (dim === undefined) return this.amax();
    const [v, i] = native.maxDim(this._h, dim, options.keepdim ?? false);
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, options?: ReduceOptions): ValuesIndices;
  min(dim?: number, options: ReduceOptions = {}): Tensor | ValuesIndices {
    if (dim === undefined) return this.amin();
    const [v, i] = native.minDim(this._h, dim, options.keepdim ?? false);
    return { values: wrap(v), indices: wrap(i) };
  }
  argmax(dim?: number, options: ReduceOptions = {}): Tensor { return wrap(native.argmax(this._h, dim ?? null, options.keepdim ?? false)); }
  argmin(dim?: number, options: ReduceOptions = {}): Tensor { return wrap(native.argmin(this._h, dim ?? null, options.keepdim ?? false)); }
  softmax(dim: number, options: { dtype?: DType } = {}): Tensor {
    return wrap(native.softmax(this._h, dim, options.dtype ? dtypeCode(options.dtype) : null));
  }
  logSoftmax(dim: number, options: { dtype?: DType } = {}): Tensor {
    return wrap(native.logSoftmax(this._h, dim, options.dtype ? dtypeCode(options.dtype) : null));
  }
  cumsum(dim: number, options: { dtype?: DType } = {}): Tensor {
    return wrap(native.cumsum(this._h, dim, options.dtype ? dtypeCode(options.dtype) : null));
  }

  // ---- indexing, sorting, sampling -------------------------------------------------------------
  gather(dim: number, index: Tensor): Tensor { return wrap(native.gather(this._h, dim, index._h)); }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor { return wrap(native.scatter(this._h, dim, index._h, h(src, "src") as Handle | number)); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(native.scatterAdd(this._h, dim, index._h, src._h)); }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native.indexSelect(this._h, dim, index._h)); }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(this._h, mask._h)); }
  nonzero(): Tensor { return wrap(native.nonzero(this._h)); }
  topk(k: number, options: { dim?: number; largest?: boolean; sorted?: boolean } = {}): ValuesIndices {
    const [v, i] = native.topk(this._h, k, options.dim ?? -1, options.largest ?? true, options.sorted ?? true);
    return { values: wrap(v), indices: wrap(i) };
  }
  sort(options: { dim?: number; descending?: boolean } = {}): ValuesIndices {
    const [v, i] = native.sort(this._h, options.dim ?? -1, options.descending ?? false);
    return { values: wrap(v), indices: wrap(i) };
  }
  /** Samples indices from each row of (unnormalised, non-negative) probabilities. */
  multinomial(numSamples: number, options: { replacement?: boolean } = {}): Tensor {
    return wrap(native.multinomial(this._h, numSamples, options.replacement ?? false));
  }

  // ---- linear algebra ---------------------------------------------------------------------------
  matmul(other: Tensor): Tensor { return wrap(native.matmul(this._h, other._h)); }
  bmm(other: Tensor): Tensor { return wrap(native.bmm(this._h, other._h)); }

  // ---- autograd ----------------------------------------------------------------------------------
  get requiresGrad(): boolean { return native.requiresGrad(this._h); }
  set requiresGrad(flag: boolean) { native.requiresGrad_(this._h, flag); }
  requiresGrad_(flag = true): this { native.requiresGrad_(this._h, flag); return this; }
  /** The accumulated gradient (a new handle each read; dispose it or read it inside `tidy`). */
  get grad(): Tensor | null {
    const g = native.grad(this._h);
    return g === null ? null : wrap(g);
  }
  set grad(g: Tensor | null) { native.setGrad(this._h, g === null ? null : g._h); }
  retainGrad(): void { native.retainGrad(this._h); }
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    native.backward(this._h, gradient ? gradient._h : null, options.retainGraph ?? false);
  }
}

// On the prototype, not per instance: cheaper to create (the scope code only reads it).
Object.defineProperty(Tensor.prototype, TRACKED, { value: true });

export type NestedArray = number | NestedArray[];

function bytesAs(dtype: DType, buf: Buffer) {
  // Typed arrays need aligned offsets; copy when Node handed back an unaligned slice.
  const aligned = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  const { buffer, byteOffset, byteLength } = aligned;
  switch (dtype) {
    case "float32": return new Float32Array(buffer, byteOffset, byteLength / 4);
    case "float64": return new Float64Array(buffer, byteOffset, byteLength / 8);
    case "int64": return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case "int32": return new Int32Array(buffer, byteOffset, byteLength / 4);
    case "int16": return new Int16Array(buffer, byteOffset, byteLength / 2);
    case "int8": return new Int8Array(buffer, byteOffset, byteLength);
    case "bool":
    case "uint8": return new Uint8Array(buffer, byteOffset, byteLength);
    default: throw new Error(`no typed array for ${dtype}`);
  }
}
