/**
 * `torchforge/torch`: PyTorch's tensor engine (libtorch) for TypeScript.
 * @example
 * import { torch, F } from "torchforge/torch";
 * const y = torch.tidy(() => F.linear(torch.randn([4, 8]), w).relu().sum());
 */
import { native } from "./native.ts";
import * as creation from "./creation.ts";
import * as autograd from "./autograd.ts";
import * as scope from "./scope.ts";
import * as mem from "./memory.ts";

export { Tensor } from "./tensor.ts";
export type { Device, Dims, NestedArray, ReduceOptions, SumOptions, StdOptions, ValuesIndices, TensorOrScalar } from "./tensor.ts";
export type { DType } from "./dtype.ts";
export { DTYPES, DTYPE_SIZE, isFloatingPoint } from "./dtype.ts";
export type { CreationOptions, TensorData, ArangeOptions } from "./creation.ts";
export { TorchError, SafetensorsError } from "./errors.ts";
export { OpTableMismatchError } from "./op-table.ts";
export * as F from "./functional.ts";
import { toDevice } from "./to-device.ts";
export type { MemoryInfo } from "./memory.ts";

export const torch = {
  ...creation,
  ...autograd,
  tidy: scope.tidy,
  toDevice,
  keep: scope.keep,
  dispose: scope.dispose,
  memory: mem.memory,
  emptyCache: mem.emptyCache,
  setNumThreads: (n: number): void => native.setNumThreads(n),
  getNumThreads: (): number => native.getNumThreads(),
  /** Version of the linked libtorch, e.g. "1.13.1". */
  version: (): string => native.version(),
  cuda: {
    isAvailable: (): boolean => native.cudaIsAvailable(),
    deviceCount: (): number => native.cudaDeviceCount(),
  },
};
export * as nn from "./nn/index.ts";
export * as optim from "./optim/index.ts";
export * as safetensors from "./safetensors.ts";
export * as gguf from "./gguf.ts";
export * as distributed from "./distributed.ts";
export { GradReducer, DEFAULT_BUCKET_BYTES } from "./grad-reducer.ts";
export type { GradReducerOptions, GradReduceReport } from "./grad-reducer.ts";
export * as ggufWrite from "./gguf-write.ts";
