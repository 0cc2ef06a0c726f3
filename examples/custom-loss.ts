/**
 * A custom RL loss in user code — no change to the library needed.
 *
 *     node --import tsx examples/custom-loss.ts
 *
 * `AsymmetricReinforceLoss` is REINFORCE with a clipped, detached importance weight, where
 * negative-advantage tokens are down-weighted by `negativeScale` (pushing probability up is
 * trusted more than pushing it down), plus a k2 KL penalty to the reference model. It is
 * written against the public contract only: anything with
 * `forward(input) → { loss, metrics }` is a loss the trainer accepts, and the library's building
 * blocks (ratios, KL estimators, aggregation with global counts, metrics) do the rest.
 *
 * `trainToyPolicy` then runs a complete GRPO-style loop with it on a toy task: a bigram "language
 * model" (a learnable V×V logits table) is rewarded for each occurrence of token `2` in a
 * 3-token response. Deviations from a real run, on purpose: no tokenizer, no reference model
 * other than the initial weights, one gradient step per batch.
 */
import { pathToFileURL } from "node:url";
import { torch, F, optim } from "../src/torch/index.ts";
import {
  aggregate,
  assignAdvantages,
  checkLossInput,
  collate,
  computeMetrics,
  createEpisode,
  klPenalty,
  responseLogprobs,
  tokenRatio,
  type Group,
  type Loss,
  type LossOutput,
  type PolicyLossInput,
} from "../src/rl/index.ts";

export interface AsymmetricReinforceOptions {
  /** Multiplier of negative advantages. @default 0.5 */
  negativeScale?: number;
  /** Importance weight bounds [1 − clip, 1 + clip]. @default 0.2 */
  clip?: number;
  /** k2 KL penalty weight. @default 0.01 */
  beta?: number;
}

export class AsymmetricReinforceLoss implements Loss {
  constructor(private readonly options: AsymmetricReinforceOptions = {}) {}

  forward(input: PolicyLossInput): LossOutput {
    const { negativeScale = 0.5, clip = 0.2, beta = 0.01 } = this.options;
    return torch.tidy(() => {
      const { mask, advantages } = checkLossInput(input); // shape checks + dtype normalisation
      const lp = input.logprobs;
      const old = input.oldLogprobs ?? lp.detach();
      const ratio = tokenRatio(lp, old).detach(); // (B, T)
      const weight = ratio.clamp(1 - clip, 1 + clip);
      const adv = torch.where(advantages.lt(0), advantages.mul(negativeScale), advantages); // (B, 1)
      let perToken = weight.mul(adv).mul(lp).neg(); // (B, T)
      if (beta > 0 && input.refLogprobs) perToken = perToken.add(klPenalty(lp, input.refLogprobs, "k2").mul(beta));
      const loss = aggregate(perToken, mask, { mode: "token-mean", globalTokenCount: input.globalTokenCount });
      const clipped = ratio.lt(1 - clip).logicalOr(ratio.gt(1 + clip));
      const metrics = computeMetrics({ loss, logprobs: lp, mask, advantages, ratio, clipped, refLogprobs: input.refLogprobs });
      return { loss, metrics };
    });
  }
}

export interface ToyRunOptions {
  steps?: number;
  groupSize?: number;
  prompts?: number;
  lr?: number;
  seed?: number;
  loss?: Loss;
}

const V = 4;
const RESPONSE = 3;
const TARGET_TOKEN = 2;

/** Trains the toy bigram policy; returns the mean reward of each step's rollouts. */
export function trainToyPolicy(options: ToyRunOptions = {}): number[] {
  const { steps = 30, groupSize = 8, prompts = 2, lr = 0.2, seed = 0, loss = new AsymmetricReinforceLoss() } = options;
  torch.manualSeed(seed);
  const table = torch.tidy(() => torch.randn([V, V]).mul(0.1)).requiresGrad_(true); // logits[next | prev]
  const refTable = torch.tidy(() => table.detach().clone()); // frozen reference = initial policy
  const opt = new optim.AdamW([table], { lr, weightDecay: 0 });
  const curve: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      // Rollouts: sample each response token from softmax(table[prev]).
      const groups: Group[] = [];
      for (let p = 0; p < prompts; p++) {
        const prompt = [p % V];
        const episodes = Array.from({ length: groupSize }, (_, i) => {
          const tokens: number[] = [];
          let prev = prompt[0]!;
          for (let t = 0; t < RESPONSE; t++) {
            prev = torch.tidy(() => table.select(0, prev).softmax(-1).multinomial(1).item());
            tokens.push(prev);
          }
          const reward = tokens.filter((t) => t === TARGET_TOKEN).length;
          return createEpisode({
            id: `${step}-${p}-${i}`,
            prompt: String(p),
            reward,
            completion: { text: tokens.join(" "), promptIds: prompt, tokenIds: tokens, stopReason: "length", generatorVersion: step },
          });
        });
        groups.push({ prompt: String(p), episodes });
      }
      curve.push(groups.flatMap((g) => g.episodes).reduce((a, e) => a + e.reward, 0) / (groupSize * prompts));
      assignAdvantages(groups, { method: "grpo" });

      // Train: collate → logprobs → custom loss → step.
      const batch = collate([groups.flatMap((g) => g.episodes)], { padId: 0 });
      const { tokens } = batch.inputs[0]!;
      const t = batch.targets[0]!;
      const out = torch.tidy(() => {
        const logits = F.embedding(tokens, table); // (B, P+R, V)
        const refLogits = F.embedding(tokens, refTable);
        const logprobs = responseLogprobs(logits, t.response, { promptLength: t.promptLength }); // (B, R)
        const refLogprobs = responseLogprobs(refLogits, t.response, { promptLength: t.promptLength });
        return loss.forward({ logprobs, refLogprobs, advantages: t.advantages, paddingMask: t.paddingMask });
      });
      opt.zeroGrad();
      out.loss.backward();
      opt.step();
      torch.dispose([out.loss, batch]);
    }
  } finally {
    opt.dispose();
    torch.dispose([table, refTable]);
  }
  return curve;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const curve = trainToyPolicy({ steps: 40 });
  for (let i = 0; i < curve.length; i += 5) console.log(`step ${i}: mean reward ${curve[i]!.toFixed(2)} / ${RESPONSE}`);
  console.log(`final: ${curve.at(-1)!.toFixed(2)}`);
}
