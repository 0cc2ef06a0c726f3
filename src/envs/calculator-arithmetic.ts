/**
 * The built-in agentic environment `calculator-arithmetic`: a multiplication the model cannot
 * do in its head (`What is 123*45?`, tasks from src/data's `MultiplicationTask`), a `calculator`
 * tool, and reward 1 when the final answer equals the target, else 0.
 */
import type { PromptExample } from "../data/example.ts";
import { calculatorTool } from "./calculator.ts";
import { numericAnswerReward } from "./final-answer.ts";
import { ToolEnv, toolEnvFactory } from "./tool-env.ts";
import type { EnvironmentFactory } from "./types.ts";

export interface CalculatorArithmeticOptions {
  /** Assistant turns per episode: call, read the result, answer — plus one retry. @default 3 */
  maxTurns?: number;
  /** Tool messages are cut to this many characters: a tiny model's context is short. @default 80 */
  maxToolMessageChars?: number;
  system?: string;
}

export function calculatorArithmeticEnv(options: CalculatorArithmeticOptions = {}): ToolEnv<PromptExample> {
  return new ToolEnv<PromptExample>([calculatorTool], toolEnvOptions(options));
}

export function calculatorArithmetic(options: CalculatorArithmeticOptions = {}): EnvironmentFactory<PromptExample> {
  return toolEnvFactory<PromptExample>([calculatorTool], toolEnvOptions(options));
}

function toolEnvOptions(options: CalculatorArithmeticOptions) {
  return {
    maxTurns: options.maxTurns ?? 3,
    maxToolMessageChars: options.maxToolMessageChars ?? 80,
    ...(options.system !== undefined ? { system: options.system } : {}),
    reward: (task: PromptExample, finalAnswer: string) => numericAnswerReward(finalAnswer, task.target),
  };
}
