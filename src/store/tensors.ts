/** Helpers shared by backends: validating keys and values, layouts, and `into` checks. */
import { DTYPE_SIZE, Tensor, torch } from "../torch/index.ts";
import { IntoMismatchError, StoreArgumentError } from "./errors.ts";
import type { StateDict, StoreValue, TensorHandle } from "./types.ts";

/** Offsets are aligned so every tensor's bytes start on a cache line (and any dtype's boundary). */
export const ALIGN = 64;

export function checkKey(key: unknown, argument = "key"): string {
  if (typeof key !== "string" || key.length === 0) throw new StoreArgumentError(argument, "must be a non-empty string", key);
  if (key.length > 200) throw new StoreArgumentError(argument, "must be at most 200 characters", `${key.length} characters`);
  return key;
}

export function isStateDict(value: unknown): value is StateDict {
  return value instanceof Map;
}

/** The value as [name, tensor] pairs ("" for a single tensor), validated. */
export function entriesOf(value: unknown, argument = "value"): [string, Tensor][] {
  if (value instanceof Tensor) return [["", value]];
  if (!isStateDict(value)) throw new StoreArgumentError(argument, "must be a Tensor or a state dict (Map<string, Tensor>)", value);
  const out: [string, Tensor][] = [];
  for (const [name, t] of value) {
    if (typeof name !== "string" || name.length === 0) throw new StoreArgumentError(`${argument} name`, "must be a non-empty string", name);
    if (!(t instanceof Tensor)) throw new StoreArgumentError(`${argument}.get(${JSON.stringify(name)})`, "must be a Tensor", t);
    if (t.isDisposed) throw new StoreArgumentError(`${argument}.get(${JSON.stringify(name)})`, "must not be disposed");
    out.push([name, t]);
  }
  return out;
}

/**
 * A contiguous CPU tensor with the same values: `t` itself when it already is one. A GPU tensor is
 * copied into pinned (page-locked) host memory, which the device→host copy fills at full speed.
 */
export function hostContiguous(t: Tensor): Tensor {
  if (t.device !== "cpu") return t.cpuPinned();
  const cpu = t;
  if (cpu.isContiguous()) return cpu;
  return cpu.contiguous();
}

export function byteLengthOf(t: Tensor): number {
  return t.numel * DTYPE_SIZE[t.dtype];
}

export const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Lays tensors out back to back (aligned); returns handles and the total size. */
export function layout(entries: [string, Tensor][]): { handles: TensorHandle[]; totalBytes: number } {
  let offset = 0;
  const handles = entries.map(([name, t]) => {
    const h: TensorHandle = { name, dtype: t.dtype, shape: t.shape, offset, byteLength: byteLengthOf(t) };
    offset = alignUp(offset + h.byteLength);
    return h;
  });
  return { handles, totalBytes: offset };
}

/**
 * The destination tensor for each handle: from `into` (checked: shape, dtype, contiguous CPU) or
 * newly allocated. Returns the value to hand back from `get`.
 */
export function destinations(key: string, kind: "tensor" | "stateDict", handles: TensorHandle[], into: StoreValue | undefined): { targets: Tensor[]; value: StoreValue } {
  if (into === undefined) {
    const targets = handles.map((h) => torch.empty(h.shape, { dtype: h.dtype }));
    if (kind === "tensor") return { targets, value: targets[0]! };
    return { targets, value: new Map(handles.map((h, i) => [h.name, targets[i]!])) };
  }
  if (kind === "tensor") {
    if (!(into instanceof Tensor)) throw new IntoMismatchError(key, "into", "a Tensor (the key holds one tensor)", into instanceof Map ? "a state dict" : String(into));
    checkInto(key, "into", handles[0]!, into);
    return { targets: [into], value: into };
  }
  if (!isStateDict(into)) throw new IntoMismatchError(key, "into", "a state dict (the key holds a state dict)", into instanceof Tensor ? "a Tensor" : String(into));
  const targets = handles.map((h) => {
    const t = into.get(h.name);
    if (t === undefined) throw new IntoMismatchError(key, `into.get(${JSON.stringify(h.name)})`, "a tensor", "no entry (every stored name must be in into)");
    checkInto(key, `into.get(${JSON.stringify(h.name)})`, h, t);
    return t;
  });
  return { targets, value: into };
}

function checkInto(key: string, field: string, h: TensorHandle, t: Tensor): void {
  if (!(t instanceof Tensor) || t.isDisposed) throw new IntoMismatchError(key, field, "a live Tensor", String(t));
  if (t.dtype !== h.dtype) throw new IntoMismatchError(key, `${field}.dtype`, h.dtype, t.dtype);
  const s = t.shape;
  if (s.length !== h.shape.length || s.some((d, i) => d !== h.shape[i])) {
    throw new IntoMismatchError(key, `${field}.shape`, `[${h.shape.join(", ")}]`, `[${s.join(", ")}]`);
  }
  if (t.device !== "cpu") throw new IntoMismatchError(key, `${field}.device`, "cpu", t.device);
  if (!t.isContiguous()) throw new IntoMismatchError(key, field, "contiguous", "a non-contiguous view");
}

/** The raw bytes of a tensor (empty view for zero-element tensors). */
export function bytesOf(t: Tensor): Uint8Array {
  return t.numel === 0 ? new Uint8Array(0) : t.bytes();
}
