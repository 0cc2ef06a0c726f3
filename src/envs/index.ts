/** Agent environments: `reset`/`step` over plain chat messages, tools declared with zod. */
export * from "./types.ts";
export { EnvError, EnvOptionError, EnvStateError } from "./errors.ts";
export { tool, callTool, toolParametersSchema, summarizeIssues, type Tool, type ToolDefinition, type ToolResult, type ToolCallOptions } from "./tool.ts";
export { ToolEnv, toolEnvFactory, type ToolEnvOptions } from "./tool-env.ts";
export { calculatorTool, evaluateArithmetic, formatCalculatorResult, CalculatorError } from "./calculator.ts";
export { extractNumericAnswer, numericAnswerReward } from "./final-answer.ts";
export { calculatorArithmetic, calculatorArithmeticEnv, type CalculatorArithmeticOptions } from "./calculator-arithmetic.ts";
export { builtinEnvironments, builtinEnvironment, isBuiltinEnvironment, type BuiltinEnvironmentName } from "./builtins.ts";
