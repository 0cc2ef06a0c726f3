/**
 * Environments an app config can name (`environment: calculator-arithmetic`); a user module
 * exporting an `EnvironmentFactory` is the other way in (the app resolves it).
 */
import type { PromptExample } from "../data/example.ts";
import { EnvOptionError } from "./errors.ts";
import { calculatorArithmetic, type CalculatorArithmeticOptions } from "./calculator-arithmetic.ts";
import type { EnvironmentFactory } from "./types.ts";

export const builtinEnvironments = {
  "calculator-arithmetic": (options: CalculatorArithmeticOptions = {}) => calculatorArithmetic(options),
} satisfies Record<string, (options?: never) => EnvironmentFactory<PromptExample>>;

export type BuiltinEnvironmentName = keyof typeof builtinEnvironments;

export function isBuiltinEnvironment(name: string): name is BuiltinEnvironmentName {
  return Object.hasOwn(builtinEnvironments, name);
}

/** The factory of a built-in environment by name; options are the environment's own. */
export function builtinEnvironment(name: string, options: Record<string, unknown> = {}): EnvironmentFactory<PromptExample> {
  if (!isBuiltinEnvironment(name)) throw new EnvOptionError("environment", `one of ${Object.keys(builtinEnvironments).join(", ")} (or a module path)`, name);
  return builtinEnvironments[name](options);
}
