export { DataError, DataOptionError, DatasetFieldError, DatasetNotFoundError, JsonlParseError, SamplerStateError } from "./errors.ts";
export * from "./example.ts";
export * from "./jsonl.ts";
export { SeededRandom, deriveSeed, mix32 } from "./random.ts";
export * from "./sampler.ts";
export * from "./example-sampler.ts";
export * from "./gsm8k.ts";
export * from "./arithmetic-task.ts";
export * from "./sft-records.ts";
