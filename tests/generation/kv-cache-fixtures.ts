// Shared by the KV-cache tests: a one-layer, one-head, one-dimension cache whose values can be read
// back as plain numbers.
import { torch } from "../../src/torch/index.ts";
import { KvCache } from "../../src/generation/index.ts";

/** A 1-layer, 1-head, 1-dim cache: column values are readable numbers. */
export const smallCache = (numSlots: number, columns: number) => new KvCache({ numLayers: 1, numSlots, numKvHeads: 1, headDim: 1, columns });

/** Prefills `slots` with a prompt whose key (and negated value) at position i is base + i. */
export function prefill(cache: KvCache, slots: number[], length: number, base: number): void {
  cache.reserveForPrompt(length);
  const hook = cache.prefillHook(slots, length);
  torch.tidy(() => {
    const k = torch.tensor(Array.from({ length }, (_, i) => base + i), { dtype: "float32" }).view(1, 1, length, 1);
    hook.update(0, k, k.neg());
  });
}
