import { DTYPES } from "./op-codes.ts";

/** Tensor element types; a dtype's index in DTYPES is its native code (TF_DTYPES in native/src/op-table.h). */
export { DTYPES };
export type DType = (typeof DTYPES)[number];

const CODES: Record<DType, number> = Object.fromEntries(DTYPES.map((d, i) => [d, i])) as Record<DType, number>;

export function dtypeCode(dtype: DType, argName = "dtype"): number {
  const code = CODES[dtype];
  if (code === undefined) {
    throw new TypeError(`argument '${argName}' must be one of ${DTYPES.join(", ")}; got ${JSON.stringify(dtype)}`);
  }
  return code;
}

export function dtypeFromCode(code: number): DType {
  const d = DTYPES[code];
  if (d === undefined) throw new Error(`libtorch returned a dtype this library does not expose (code ${code})`);
  return d;
}

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "bfloat16" || dtype === "float16";
}

/** Bytes per element (safetensors and buffer views). */
export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, bfloat16: 2, float16: 2, int64: 8, int32: 4, bool: 1, uint8: 1, int8: 1, int16: 2,
};
