// A model with known logits for sampling tests: the next-token logits depend only on the last
// input token, through a fixed (V, V) table (a bigram model). It has no layers, so the engine's
// cache logic runs with zero-layer caches.
import { torch, F, type Tensor } from "../../src/torch/index.ts";
import type { ForwardOptions } from "../../src/models/index.ts";
import type { GenerationModel } from "../../src/generation/index.ts";

export class BigramModel implements GenerationModel {
  readonly config;
  readonly dtype = "float32" as const;
  readonly table: Tensor;
  constructor(table: number[][]) {
    const V = table.length;
    this.config = { vocabSize: V, numLayers: 0, numKvHeads: 1, headDim: 2, maxPositionEmbeddings: 512 };
    this.table = torch.keep(torch.tensor(table, { dtype: "float32" }));
  }
  forward(inputIds: Tensor, options: ForwardOptions = {}): Tensor {
    const ids = options.lastTokenOnly ? inputIds.narrow(1, inputIds.shape[1]! - 1, 1) : inputIds;
    return F.embedding(ids, this.table); // (B, T, V)
  }
  dispose(): void {
    this.table.dispose();
  }
}

/** Logits whose softmax is `probs` (zeros become -1e9). */
export function logitsOf(probs: number[]): number[] {
  return probs.map((p) => (p > 0 ? Math.log(p) : -1e9));
}
