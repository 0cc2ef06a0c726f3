/**
 * Loads the libtorch addon and describes its whole surface as one interface. Loading also
 * tunes the process for fast CPU math:
 * - OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE once, when libtorch pulls it in; forced
 *   values select slower kernels here, so they are cleared for the load and restored right after
 *   (other code and child processes still see the user's environment);
 * - libgomp (libtorch's OpenMP) spins waiting threads for ~300k iterations by default; when the
 *   cores are shared with other busy processes that spinning makes every parallel op wait for a
 *   descheduled thread (measured 4–20x slower steps), so unless OMP_WAIT_POLICY or GOMP_SPINCOUNT
 *   is set, GOMP_SPINCOUNT is lowered for the load (TORCHFORGE_OMP_SPINCOUNT, default 10000);
 * - intra-op threads default to the cores available (libtorch sees 1 on this machine);
 * - a caching CPU allocator is installed (see native/src/cpu-allocator.cc and BENCHMARKS.md);
 * - the addon's op table must equal src/torch/op-codes.ts (both come from native/src/op-table.h),
 *   else loading throws OpTableMismatchError instead of running wrong ops for their codes.
 * Environment knobs: TORCHFORGE_NUM_THREADS, TORCHFORGE_OMP_SPINCOUNT, TORCHFORGE_CPU_ALLOCATOR=caching|default,
 * TORCHFORGE_HUGEPAGES=1 (THP advice for big blocks; off by default), TORCHFORGE_CPU_CACHE_BYTES, TORCHFORGE_NATIVE (addon path;
 * else native/build/Release/, else prebuilds/<platform>-<arch>/),
 * TORCHFORGE_FUSED_KERNELS=0 (composite ATen ops instead of the fused inference kernels, to compare).
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { TorchError } from "./errors.ts";
import { checkOpTable } from "./op-table.ts";
import { packagePath } from "../util/package-root.ts";

/**
 * Opaque native tensor handle: a BigInt naming a slot and its generation in the addon's table
 * (a BigInt because creating one costs no V8 global handle, unlike an N-API external, and it
 * cannot be mistaken for a scalar argument).
 */
export interface Handle {
  readonly __handle: unique symbol;
}
type H = Handle;
type HOrNum = H | number;

export interface AllocatorStats {
  installed: boolean;
  allocatedBytes: number;
  cachedBytes: number;
  peakBytes: number;
  cacheHits: number;
  cacheMisses: number;
}

/** How often each fused CPU inference kernel ran in this process (see `F.fusedKernelCalls`). */
export interface FusedKernelCalls {
  rmsNorm: number;
  rotary: number;
  siluMul: number;
  attention: number;
}

export interface NativeAddon {
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: number, device: string | null): H;
  empty(shape: number[], dtype: number, device: string | null): H;
  zeros(shape: number[], dtype: number, device: string | null): H;
  ones(shape: number[], dtype: number, device: string | null): H;
  full(shape: number[], dtype: number, device: string | null, value: number | boolean): H;
  eye(n: number, dtype: number, device: string | null): H;
  arange(start: number, end: number, step: number, dtype: number, device: string | null): H;
  randn(shape: number[], dtype: number, device: string | null): H;
  rand(shape: number[], dtype: number, device: string | null): H;
  randint(low: number, high: number, shape: number[], dtype: number, device: string | null): H;
  manualSeed(seed: number): void;
  toBuffer(t: H): Buffer;
  dataView(t: H): ArrayBuffer;
  item(t: H): number | boolean;
  requiresGrad(t: H): boolean;
  shape(t: H): number[];
  dtype(t: H): number;
  device(t: H): string;
  isContiguous(t: H): boolean;
  dispose(t: H): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  version(): string;
  liveTensors(): number;
  setErrorClass(cls: new (message: string) => Error): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;

  view(t: H, shape: number[]): H;
  reshape(t: H, shape: number[]): H;
  transpose(t: H, d0: number, d1: number): H;
  permute(t: H, dims: number[]): H;
  unsqueeze(t: H, dim: number): H;
  squeeze(t: H, dim?: number): H;
  expand(t: H, shape: number[]): H;
  contiguous(t: H): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  select(t: H, dim: number, index: number): H;
  slice(t: H, dim: number, start: number, end: number, step: number): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  split(t: H, sizeOrSizes: number | number[], dim: number): H[];
  chunk(t: H, chunks: number, dim: number): H[];
  flatten(t: H, start: number, end: number): H;
  clone(t: H): H;
  detach(t: H): H;
  alias(t: H): H;
  to(t: H, dtype: number | null, device: string | null): H;
  toHostPinned(t: H): H;
  isPinned(t: H): boolean;
  repeat(t: H, repeats: number[]): H;
  tril(t: H, diagonal: number): H;
  triu(t: H, diagonal: number): H;
  flip(t: H, dims: number[]): H;
  copy_(t: H, src: H): H;
  fill_(t: H, value: number | boolean): H;
  zero_(t: H): H;
  uniform_(t: H, low: number, high: number): H;
  normal_(t: H, mean: number, std: number): H;
  setData(t: H, src: H): H;

  unary(op: number, t: H): H;
  binary(op: number, a: H, b: HOrNum | boolean, reverse?: boolean): H;
  binaryInplace(op: number, a: H, b: HOrNum): H;
  clamp(t: H, min: number | null, max: number | null): H;
  where(cond: H, a: HOrNum, b: HOrNum): H;
  maskedFill(t: H, mask: H, value: HOrNum | boolean): H;
  reduce(op: number, t: H, dims: number[] | null, keepdim: boolean, extra?: number | boolean | null): H;
  maxDim(t: H, dim: number, keepdim: boolean): [H, H];
  minDim(t: H, dim: number, keepdim: boolean): [H, H];
  argmax(t: H, dim: number | null, keepdim: boolean): H;
  argmin(t: H, dim: number | null, keepdim: boolean): H;
  softmax(t: H, dim: number, dtype: number | null): H;
  logSoftmax(t: H, dim: number, dtype: number | null): H;
  cumsum(t: H, dim: number, dtype: number | null): H;
  gather(t: H, dim: number, index: H): H;
  scatter(t: H, dim: number, index: H, src: HOrNum): H;
  scatterAdd(t: H, dim: number, index: H, src: H): H;
  indexSelect(t: H, dim: number, index: H): H;
  maskedSelect(t: H, mask: H): H;
  nonzero(t: H): H;
  topk(t: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean): [H, H];
  multinomial(probs: H, n: number, replacement: boolean): H;
  matmul(a: H, b: H): H;
  bmm(a: H, b: H): H;

  linear(x: H, w: H, b: H | null): H;
  embedding(w: H, idx: H): H;
  crossEntropy(logits: H, target: H, ignoreIndex: number, reduction: number, labelSmoothing: number): H;
  rmsNorm(x: H, w: H | null, eps: number): H;
  addRmsNorm(x: H, residual: H, w: H | null, eps: number): [H, H];
  applyRotary(x: H, cos: H, sin: H): H;
  siluMul(gate: H, up: H): H;
  fusedKernelCalls(): FusedKernelCalls;
  setGenericKernels(on: boolean): void;
  genericKernels(): boolean;
  sdpa(q: H, k: H, v: H, mask: H | null, causal: boolean, scale: number | null, prefixRows?: H | null, prefixKeys?: H | null): H;
  tokenLogprobs(logits: H, targets: H, temperature: number, chunkRows: number): H;
  sampleFromProbs(probs: H, uniforms: H, topK: number, topP: number, minP: number): H;
  sampleFromLogits(logits: H, uniforms: H, temperature: number, topK: number, topP: number, minP: number): [H, H];
  packedLinearAvailable(): boolean;
  packLinearWeight(weight: H, into: H | null): H;
  linearPacked(input: H, packed: H, outFeatures: number, inFeatures: number, bias: H | null): H;
  /** One GGUF tensor's ggml block data → float32 [numel] (native/src/gguf-dequant.cc). */
  ggufDequantize(data: ArrayBufferView, ggmlType: number, numel: number): H;

  /** c10d (native/src/distributed.cc): ids of stores, groups and work handles; reduce ops 0 sum, 1 product, 2 min, 3 max. */
  distStoreCreate(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): number;
  distStoreSet(store: number, key: string, value: string): void;
  distStoreGet(store: number, key: string): string;
  distStoreAdd(store: number, key: string, delta: number): number;
  distStoreDestroy(store: number): boolean;
  distNcclCreate(store: number, prefix: string, rank: number, worldSize: number, timeoutMs: number): number;
  distNcclAvailable(): boolean;
  distGlooCreate(store: number, prefix: string, rank: number, worldSize: number, timeoutMs: number, hostname: string): number;
  distGroupDestroy(group: number): boolean;
  distAllReduce(group: number, tensors: H[], op: number): number;
  distBroadcast(group: number, tensors: H[], src: number): number;
  distAllGather(group: number, outputs: H[], input: H): number;
  distBarrier(group: number): number;
  distWorkIsCompleted(work: number): boolean;
  distWorkWait(work: number, timeoutMs: number): void;
  distWorkWaitAsync(work: number, timeoutMs: number): Promise<void>;
  distWorkRelease(work: number): boolean;
  /** Overlapped gradient reduction (native/src/grad-reducer.cc): hooks on the params' gradient accumulators. */
  distReducerCreate(group: number, params: H[], targets: H[], bucketBytes: number): number;
  distReducerSetRequireSync(reducer: number, requireSync: boolean): void;
  distReducerBuckets(reducer: number): number[][];
  distReducerFinish(reducer: number, factor: number, timeoutMs: number): { launchedInBackward: number; lateBuckets: number[]; locallyUnused: number[]; globallyUnused: number[] };
  distReducerReset(reducer: number): void;
  distReducerDestroy(reducer: number): boolean;

  requiresGrad_(t: H, flag: boolean): H;
  grad(t: H): H | null;
  setGrad(t: H, g: H | null): void;
  hasGrad(t: H): boolean;
  retainGrad(t: H): void;
  backward(t: H, gradient: H | null, retainGraph: boolean): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  zeroGrad(params: H[]): void;
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;
  adamwStep(params: H[], m: H[], v: H[], step: number, lr: number, b1: number, b2: number, eps: number, wd: number): void;
  sgdStep(params: H[], bufs: H[], lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean, first: boolean): void;

  configureAllocator(mode: string, hugepages: boolean, cacheLimitBytes: number): void;
  allocatorStats(): AllocatorStats;
  emptyCache(): void;

  /** Every code family's names in code order, as compiled in from native/src/op-table.h. */
  opTable(): Record<string, string[]>;
}

/** Where a prebuilt addon for this platform sits in the package (node-gyp-build's layout). */
export const PREBUILT_ADDON = packagePath("prebuilds", `${process.platform}-${process.arch}`, "torchforge_native.node");
/** Where node-gyp builds the addon (`npm run build:native`, scripts/setup.sh, the install script). */
export const BUILT_ADDON = packagePath("native", "build", "Release", "torchforge_native.node");

/**
 * TORCHFORGE_NATIVE, else the locally built addon, else a prebuilt one for this platform. A local
 * build wins: the install script compiles only when no prebuilt binary loads (or when asked to),
 * and in a clone native/build is what scripts/setup.sh keeps fresh.
 */
function addonPath(): string {
  if (process.env.TORCHFORGE_NATIVE) {
    const given = resolve(process.env.TORCHFORGE_NATIVE); // relative to the working directory, not this module
    if (!existsSync(given)) throw new Error(`TORCHFORGE_NATIVE names ${given}, which does not exist; expected a built torchforge_native.node`);
    return given;
  }
  const found = [BUILT_ADDON, PREBUILT_ADDON].find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `torchforge native addon not built (neither ${BUILT_ADDON} nor ${PREBUILT_ADDON} exists): ` +
        "in a clone run `bash scripts/setup.sh`; in a project that installed torchforge run `npm rebuild torchforge` " +
        "(if npm skipped its install script, allow it first: `npm install-scripts approve torchforge`, " +
        'or `"allowScripts": { "torchforge": true }` in package.json)',
    );
  }
  return found;
}

function load(): NativeAddon {
  const path = addonPath(); // before the environment is touched, so a missing addon leaves it as it was
  const saved: Record<string, string | undefined> = {};
  const keys = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "GOMP_SPINCOUNT"];
  for (const key of keys) saved[key] = process.env[key];
  delete process.env.OPENBLAS_CORETYPE;
  delete process.env.OPENBLAS_L2_SIZE;
  if (saved.GOMP_SPINCOUNT === undefined && process.env.OMP_WAIT_POLICY === undefined) {
    process.env.GOMP_SPINCOUNT = process.env.TORCHFORGE_OMP_SPINCOUNT || "10000";
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } finally {
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
  // An addon from before the table existed has no opTable(); it gets the same rebuild advice.
  checkOpTable(typeof addon.opTable === "function" ? addon.opTable() : undefined, path);
  addon.setErrorClass(TorchError);
  const threads = process.env.TORCHFORGE_NUM_THREADS ? Number(process.env.TORCHFORGE_NUM_THREADS) : availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new TypeError(`TORCHFORGE_NUM_THREADS must be a positive integer; got ${process.env.TORCHFORGE_NUM_THREADS}`);
  }
  addon.setNumThreads(threads);
  const mode = process.env.TORCHFORGE_CPU_ALLOCATOR ?? "caching";
  const cacheLimit = Number(process.env.TORCHFORGE_CPU_CACHE_BYTES ?? 2 * 1024 ** 3);
  // Huge pages stay off by default: measured here, the first touch of a fresh 524 MB block cost
  // ~3x more with THP advice (kernel compaction) for a similar steady state (BENCHMARKS.md).
  addon.configureAllocator(mode, process.env.TORCHFORGE_HUGEPAGES === "1", cacheLimit);
  return addon;
}

export const native: NativeAddon = load();
