/** Memory introspection: live tensor handles and the CPU caching allocator's counters. */
import { native, type AllocatorStats } from "./native.ts";

export interface MemoryInfo extends AllocatorStats {
  /** Tensor handles not yet disposed or garbage-collected. */
  numTensors: number;
}

export function memory(): MemoryInfo {
  return { numTensors: native.liveTensors(), ...native.allocatorStats() };
}

/** Returns cached free blocks to the system. */
export function emptyCache(): void {
  native.emptyCache();
}
