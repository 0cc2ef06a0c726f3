/**
 * Moves every tensor inside a plain value (a tensor, an array, a plain object, nested) to one
 * device, leaving other fields as they are: a collated batch built on the CPU goes to the model's
 * GPU in one call. Tensors already there are kept (not copied), so on the CPU it allocates nothing.
 * The copies belong to the current `tidy` scope like any new tensor.
 */
import { Tensor } from "./tensor.ts";

export function toDevice<T>(value: T, device: string): T {
  return move(value, device) as T;
}

function move(value: unknown, device: string): unknown {
  if (value instanceof Tensor) return value.device === device ? value : value.to({ device });
  if (Array.isArray(value)) {
    const out = value.map((v) => move(v, device));
    return out.every((v, i) => v === value[i]) ? value : out;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).map(([k, v]) => [k, move(v, device)] as const);
    return entries.every(([k, v]) => v === (value as Record<string, unknown>)[k]) ? value : Object.fromEntries(entries);
  }
  return value;
}
