/**
 * Builds the policy loss from config: a built-in name with the `grpo` section's knobs, or a user
 * module (`./my-loss.ts#MyLoss`, constructed with the same options) — a new algorithm needs no
 * library change.
 */
import {
  CISPOLoss,
  DAPOLoss,
  GRPOLoss,
  GSPOLoss,
  PPOClipLoss,
  ReinforceLoss,
  SAPOLoss,
  SimpleGRPOLoss,
  type AggregationMode,
  type KLEstimator,
  type Loss,
} from "../../src/rl/index.ts";
import { importUserExport } from "./resolve-rewards.ts";

export interface LossSpec {
  loss: string;
  clipLow: number;
  clipHigh: number;
  beta: number;
  klEstimator: KLEstimator;
  lossAggMode?: "token_mean" | "seq_mean_token_mean" | "seq_mean_token_sum" | "seq_mean_token_sum_norm";
  entropyCoef: number;
}

export const BUILT_IN_LOSSES = ["grpo", "dapo", "gspo", "cispo", "sapo", "reinforce", "simple_grpo", "ppo"] as const;

export async function resolveLoss(spec: LossSpec): Promise<Loss> {
  const common = {
    beta: spec.beta,
    klEstimator: spec.klEstimator,
    entropyCoef: spec.entropyCoef,
    ...(spec.lossAggMode ? { aggregation: spec.lossAggMode.replaceAll("_", "-") as AggregationMode } : {}),
  };
  const clip = { clipLow: spec.clipLow, clipHigh: spec.clipHigh };
  switch (spec.loss) {
    case "grpo":
      return new GRPOLoss({ ...common, ...clip });
    case "dapo":
      return new DAPOLoss({ ...common, ...clip });
    case "gspo":
      return new GSPOLoss(common); // sequence-ratio clips are ~1e-4, not the token-level ones
    case "cispo":
      return new CISPOLoss({ ...common, clipHigh: spec.clipHigh });
    case "sapo":
      return new SAPOLoss(common);
    case "reinforce":
      return new ReinforceLoss(common);
    case "simple_grpo":
      return new SimpleGRPOLoss(common);
    case "ppo":
      return new PPOClipLoss({ ...common, clipRatio: spec.clipLow });
  }
  if (!spec.loss.includes("#") && !/\.(ts|js|mjs)$/.test(spec.loss)) {
    throw new TypeError(
      `grpo.loss '${spec.loss}' is not built in (${BUILT_IN_LOSSES.join(", ")}) nor a module path like ./my-loss.ts#MyLoss`,
    );
  }
  const exported = await importUserExport(spec.loss, "grpo.loss");
  if (typeof exported !== "function") throw new TypeError(`grpo.loss '${spec.loss}' must export a loss class`);
  const loss = new (exported as new (o: unknown) => Loss)({ ...common, ...clip });
  if (typeof loss.forward !== "function")
    throw new TypeError(`grpo.loss '${spec.loss}': instances need a forward({ logprobs, advantages, paddingMask, ... }) method`);
  return loss;
}
