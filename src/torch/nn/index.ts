/** `torch.nn`: modules, layers and initialisers. */
export { Module, ModuleList, StateDictError } from "./module.ts";
export type { StateDict, LoadStateDictOptions, LoadStateDictResult } from "./module.ts";
export { Linear, LinearGroup, Embedding, RMSNorm, hasLinearGroups } from "./layers.ts";
export type { LayerOptions, HasLinearGroups, LinearAdapter } from "./layers.ts";
export * as init from "./init.ts";
