export * from "./errors.ts";
export * from "./reward.ts";
export * from "./parse-number.ts";
export * from "./math-reward.ts";
export * from "./thinking-reward.ts";
export * from "./latex-answer.ts";
export * from "./math-equivalence.ts";
