/** Shared helpers for tests/trainer: a tiny deterministic LM and collated GRPO batches. */
import { torch, nn, type Tensor } from "../../src/torch/index.ts";
import { collate, createEpisode, type Episode, type TrainingBatch } from "../../src/rl/index.ts";

export const VOCAB = 11;

/** Embedding → tanh → Linear: small enough for exact comparisons, real enough for autograd. */
export class TinyLM extends nn.Module {
  readonly embed: nn.Embedding;
  readonly head: nn.Linear;
  constructor(seed = 0) {
    super();
    torch.manualSeed(seed);
    this.embed = this.registerModule("embed", torch.noGrad(() => new nn.Embedding(VOCAB, 8)));
    this.head = this.registerModule("head", torch.noGrad(() => new nn.Linear(8, VOCAB)));
  }
  forward(ids: Tensor): Tensor {
    return torch.tidy(() => this.head.forward(this.embed.forward(ids).tanh())); // (B, T, V)
  }
}

/** Deterministic pseudo-random episodes with varied lengths and advantages. */
export function episodes(n: number, seed = 1): Episode[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const p = 1 + Math.floor(rnd() * 3);
    const r = 1 + Math.floor(rnd() * 4);
    const e = createEpisode({
      id: `e${i}`,
      prompt: "p",
      completion: {
        text: "",
        promptIds: Array.from({ length: p }, () => Math.floor(rnd() * VOCAB)),
        tokenIds: Array.from({ length: r }, () => Math.floor(rnd() * VOCAB)),
        stopReason: "stop",
        generatorVersion: 0,
      },
      reward: rnd(),
    } as Parameters<typeof createEpisode>[0]);
    e.advantage = rnd() * 2 - 1;
    return e;
  });
}

/** Collates `eps` split into `parts` micro-batches with common P and R. */
export function batchOf(eps: Episode[], parts: number): TrainingBatch {
  const size = Math.ceil(eps.length / parts);
  const groups = Array.from({ length: parts }, (_, i) => eps.slice(i * size, (i + 1) * size)).filter((g) => g.length > 0);
  return collate(groups, { padId: 0, promptLength: 3, responseLength: 4 });
}

export function paramValues(m: nn.Module): Map<string, number[]> {
  return new Map([...m.namedParameters()].map(([k, p]) => [k, p.toFlatArray()]));
}

export function maxAbsDiff(a: Map<string, number[]>, b: Map<string, number[]>): number {
  let d = 0;
  for (const [k, xs] of a) xs.forEach((x, i) => (d = Math.max(d, Math.abs(x - b.get(k)![i]!))));
  return d;
}

/**
 * TinyLM with a branch some micro-batches take (`extra`, when the ids sum to an odd number) and
 * a parameter nothing uses (`unused`): the data-parallel cases where a rank has no gradient for
 * a parameter.
 */
export class BranchyLM extends TinyLM {
  readonly extra: nn.Linear;
  readonly unused: nn.Linear;
  constructor(seed = 0) {
    super(seed);
    this.extra = this.registerModule("extra", torch.noGrad(() => new nn.Linear(8, VOCAB)));
    this.unused = this.registerModule("unused", torch.noGrad(() => new nn.Linear(2, 2)));
  }
  static takesBranch(ids: Tensor): boolean {
    return torch.tidy(() => ids.sum().item()) % 2 === 1;
  }
  override forward(ids: Tensor): Tensor {
    if (!BranchyLM.takesBranch(ids)) return super.forward(ids);
    return torch.tidy(() => {
      const h = this.embed.forward(ids).tanh();
      return this.head.forward(h).add(this.extra.forward(h));
    });
  }
}
