/**
 * The device a service's models use, from its `with_gpus` flag: "cpu", or `cuda:<LOCAL_RANK>` (one
 * GPU per rank, torchrun's convention; GPU 0 for a single process). Without a usable CUDA device
 * the error names the flag instead of failing later inside a kernel.
 */
import { torch } from "../../src/torch/index.ts";

export class InsufficientGpuError extends Error {
  override name = "InsufficientGpuError";
}

export function serviceDevice(options: { withGpus: boolean; field: string; localRank?: number }): string {
  if (!options.withGpus) return "cpu";
  const free = torch.cuda.deviceCount();
  const index = options.localRank ?? Number(process.env.LOCAL_RANK ?? 0);
  if (index >= free) {
    throw new InsufficientGpuError(
      `Insufficient GPU resources: ${options.field}: true needs GPU ${index}, ${free} free (set ${options.field}: false to run on CPU)`,
    );
  }
  return `cuda:${index}`;
}
