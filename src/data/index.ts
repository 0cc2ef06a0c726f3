export * from "./errors.ts";
export * from "./example.ts";
export * from "./jsonl.ts";
export * from "./random.ts";
export * from "./sampler.ts";
export * from "./gsm8k.ts";
export * from "./arithmetic-task.ts";
export * from "./sft-records.ts";
