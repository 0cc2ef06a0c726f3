/**
 * Builds the reward set from config: built-in names (`math`, `thinking`, `format`, `length`,
 * `math_equivalence`) or a user module (`./my-reward.ts#MyReward`, a class or a function).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  FormatReward,
  LengthReward,
  MathEquivalenceReward,
  MathReward,
  RewardSet,
  ThinkingReward,
  type Reward,
  type RewardFunction,
} from "../../src/rewards/index.ts";

export type RewardSpec = string | { name: string; weight: number; options: Record<string, unknown> };

const BUILT_IN: Record<string, (options: Record<string, unknown>) => Reward> = {
  math: (o) => new MathReward(o),
  thinking: (o) => new ThinkingReward(o),
  format: (o) => new FormatReward(o),
  length: (o) => new LengthReward(o),
  math_equivalence: (o) => new MathEquivalenceReward(o),
};

/** Imports `path#Export` (default export when no `#`) relative to the working directory. */
export async function importUserExport(spec: string, what: string): Promise<unknown> {
  const [path, name = "default"] = spec.split("#");
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path!)).href)) as Record<string, unknown>;
  } catch (err) {
    // forge from an installed package runs under plain node, which cannot import TypeScript.
    if ((err as { code?: string }).code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?ts$/.test(path!)) {
      throw new TypeError(
        `${what} '${spec}': node cannot import TypeScript here; compile it (tsc) and name the .js file, ` +
          `or run forge with NODE_OPTIONS="--import tsx" (tsx installed in your project)`,
      );
    }
    throw err;
  }
  if (!(name in mod)) throw new TypeError(`${what} '${spec}': module has no export '${name}' (exports: ${Object.keys(mod).join(", ")})`);
  return mod[name];
}

export async function resolveRewards(specs: RewardSpec[], options: { timeoutMs?: number } = {}): Promise<RewardSet> {
  const rewards = [];
  for (const spec of specs) {
    const { name, weight, options: ctorOptions } = typeof spec === "string" ? { name: spec, weight: 1, options: {} } : spec;
    let reward: Reward | RewardFunction;
    if (BUILT_IN[name]) reward = BUILT_IN[name]!(ctorOptions);
    else if (name.includes(".ts") || name.includes(".js") || name.includes("#")) {
      const exported = await importUserExport(name, "reward");
      if (typeof exported !== "function") throw new TypeError(`reward '${name}' must export a class or a function`);
      reward = /^class\s/.test(Function.prototype.toString.call(exported))
        ? new (exported as new (o: unknown) => Reward)(ctorOptions)
        : (exported as RewardFunction);
    } else {
      throw new TypeError(
        `reward '${name}' is not built in (${Object.keys(BUILT_IN).join(", ")}) nor a module path like ./my-reward.ts#MyReward`,
      );
    }
    rewards.push({ reward, weight });
  }
  return new RewardSet({ rewards, timeoutMs: options.timeoutMs });
}
