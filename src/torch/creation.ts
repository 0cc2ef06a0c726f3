/** Tensor creation functions (`torch.tensor`, `torch.zeros`, ...) and random seeding. */
import { native, type Handle } from "./native.ts";
import { type DType, dtypeCode } from "./dtype.ts";
import { h, Tensor, type Device, type NestedArray, type TensorOrScalar } from "./tensor.ts";

export interface CreationOptions {
  /** @default "float32" (integers-only data: "int64"; booleans: "bool") */
  dtype?: DType;
  /** @default "cpu" */
  device?: Device;
  /** @default false */
  requiresGrad?: boolean;
}

type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array;
export type TensorData = NestedArray | boolean | boolean[] | boolean[][] | TypedData | readonly number[];

function finish(t: Tensor, options: CreationOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function checkShape(shape: number[], name = "shape"): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`argument '${name}' must be an array of non-negative integers; got ${JSON.stringify(shape)}`);
  }
  return shape;
}

function typedDType(data: TypedData): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  return "uint8";
}

/** Flattens a nested array, checking that it is rectangular. */
function flattenNested(data: unknown): { flat: (number | boolean)[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: (number | boolean)[] = [];
  const walk = (x: unknown, d: number, path: string): void => {
    if (d === shape.length) {
      if (typeof x !== "number" && typeof x !== "boolean") {
        throw new TypeError(`tensor(data): element ${path || "(root)"} must be a number or boolean; got ${typeof x}`);
      }
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new TypeError(`tensor(data): ragged nested array at ${path || "(root)"}: expected length ${shape[d]}`);
    }
    x.forEach((v, i) => walk(v, d + 1, `${path}[${i}]`));
  };
  walk(data, 0, "");
  return { flat, shape };
}

/**
 * A tensor from nested arrays, a number, or a typed array (flat; give `shape` to reshape).
 * @example torch.tensor([[1, 2], [3, 4]], { dtype: "float32" })
 */
export function tensor(data: TensorData, options: CreationOptions & { shape?: number[] } = {}): Tensor {
  const device = options.device ?? null;
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedData;
    const shape = checkShape(options.shape ?? [typed.length]);
    const natural = typedDType(typed);
    let t = new Tensor(native.fromBuffer(typed, shape, dtypeCode(natural), device));
    if (options.dtype && options.dtype !== natural) {
      const cast = t.to(options.dtype);
      t.dispose();
      t = cast;
    }
    return finish(t, options);
  }
  const { flat, shape } = flattenNested(data);
  const allBool = flat.length > 0 && flat.every((x) => typeof x === "boolean");
  const allInt = flat.length > 0 && flat.every((x) => typeof x === "number" && Number.isInteger(x));
  const dtype: DType = options.dtype ?? (allBool ? "bool" : allInt ? "int64" : "float32");
  const finalShape = options.shape ? checkShape(options.shape) : shape;
  let t: Tensor;
  if (dtype === "float32") {
    t = new Tensor(native.fromBuffer(Float32Array.from(flat, Number), finalShape, dtypeCode("float32"), device));
  } else {
    const f64 = new Tensor(native.fromBuffer(Float64Array.from(flat, Number), finalShape, dtypeCode("float64"), device));
    if (dtype === "float64") t = f64;
    else {
      t = f64.to(dtype);
      f64.dispose();
    }
  }
  return finish(t, options);
}

const opt = (o: CreationOptions) => [dtypeCode(o.dtype ?? "float32"), o.device ?? null] as const;

export function zeros(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.zeros(checkShape(shape), ...opt(options))), options);
}
export function ones(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.ones(checkShape(shape), ...opt(options))), options);
}
export function empty(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.empty(checkShape(shape), ...opt(options))), options);
}
export function full(shape: number[], value: number | boolean, options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.full(checkShape(shape), ...opt(options), value)), options);
}
export function eye(n: number, options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.eye(n, ...opt(options))), options);
}
/** Standard normal samples. */
export function randn(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.randn(checkShape(shape), ...opt(options))), options);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], options: CreationOptions = {}): Tensor {
  return finish(new Tensor(native.rand(checkShape(shape), ...opt(options))), options);
}
/** Integers uniform in [low, high). @default dtype "int64" */
export function randint(low: number, high: number, shape: number[], options: CreationOptions = {}): Tensor {
  return new Tensor(native.randint(low, high, checkShape(shape), dtypeCode(options.dtype ?? "int64"), options.device ?? null));
}

export interface ArangeOptions extends CreationOptions {
  /** @default 1 */
  step?: number;
}
/** `arange(end)` or `arange(start, end)`; int64 unless a bound or step is fractional. */
export function arange(startOrEnd: number, end?: number, options: ArangeOptions = {}): Tensor {
  const [start, stop] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  const step = options.step ?? 1;
  if (step === 0) throw new RangeError("arange: 'step' must be non-zero");
  const dtype = options.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int64" : "float32");
  return finish(new Tensor(native.arange(start, stop, step, dtypeCode(dtype), options.device ?? null)), options);
}

const likeOpts = (t: Tensor, o: CreationOptions): CreationOptions => ({ dtype: o.dtype ?? t.dtype, device: o.device ?? t.device, requiresGrad: o.requiresGrad });
export const zerosLike = (t: Tensor, o: CreationOptions = {}) => zeros(t.shape, likeOpts(t, o));
export const onesLike = (t: Tensor, o: CreationOptions = {}) => ones(t.shape, likeOpts(t, o));
export const fullLike = (t: Tensor, value: number, o: CreationOptions = {}) => full(t.shape, value, likeOpts(t, o));
export const randnLike = (t: Tensor, o: CreationOptions = {}) => randn(t.shape, likeOpts(t, o));

/** Seeds libtorch's CPU (and CUDA) generators, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new TypeError(`argument 'seed' must be a non-negative integer; got ${seed}`);
  native.manualSeed(seed);
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(tensors.map((t) => t._h), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(tensors.map((t) => t._h), dim));
}
/** Elementwise `condition ? input : other`; one side may be a number. */
export function where(condition: Tensor, input: TensorOrScalar, other: TensorOrScalar): Tensor {
  return new Tensor(native.where(condition._h, h(input, "input") as Handle | number, h(other, "other") as Handle | number));
}
