/**
 * `torchforge/models`: the Llama-family decoder (Llama 3, Qwen2/2.5/3, Mistral), Hugging Face
 * config and checkpoint load/save, debug presets, and the tokenizer.
 */
export { CausalLM, Attention, Mlp, DecoderLayer, DecoderStack, ropeInverseFrequencies, ropeTables } from "./llama.ts";
export type { KvCacheHook, CachedKv, ForwardOptions, TokenLogprobsOptions, CausalLmOptions, AttentionInputs } from "./llama.ts";
export { parseHfConfig, toHfConfig, ARCHITECTURES } from "./config.ts";
export type { ModelConfig, ModelFamily, Llama3RopeScaling } from "./config.ts";
export { loadPretrained, savePretrained, readModelConfig, loadHfStateDict } from "./checkpoint.ts";
export type { LoadPretrainedOptions, SavePretrainedOptions } from "./checkpoint.ts";
export { debugConfig, debugModel, randomModel } from "./presets.ts";
export type { RandomModelOptions } from "./presets.ts";
export { ModelConfigError, ModelLoadError, LoraConfigError } from "./errors.ts";
export { Tokenizer, TokenizerError } from "./tokenizer.ts";
export type { ChatMessage } from "./tokenizer.ts";
export { detectToolCallFormat, parseToolCalls, toTemplateMessages, HERMES_OPEN, HERMES_CLOSE, LLAMA_PYTHON_TAG } from "./tool-calls.ts";
export type { ToolCall, ToolCallFormat, ToolCallParseError, ToolSpec, ParsedAssistantText, ParseToolCallsOptions } from "./tool-calls.ts";
export { loadGguf, readGgufConfig } from "./gguf-load.ts";
export type { LoadGgufOptions, LoadedGguf } from "./gguf-load.ts";
export { ggufModelConfig, llama3ScalingFromFactors, GGUF_ARCHITECTURES } from "./gguf-config.ts";
export { ggufTokenizer, ggufTokenizerFiles, GGUF_PRE_TOKENIZERS } from "./gguf-tokenizer.ts";
export { hfKeyFor, ggufNameFor, isRopePermuted, permuteRope, unpermuteRope, GGUF_DERIVED_TENSORS } from "./gguf-keys.ts";
export { exportGguf, ggufModelMetadata, ggufTensorsOf, GgufExportError, GGUF_EXPORT_TYPES } from "./gguf-export.ts";
export type { ExportGgufOptions, ExportGgufResult, GgufExportType } from "./gguf-export.ts";
export { ggufTokenizerMetadata, ggufPreTokenizerName, GGUF_TOKEN_TYPES } from "./gguf-tokenizer-export.ts";
export { ollamaModelfile, ollamaTemplate, chatTemplateFamily, defaultSystemPrompt } from "./ollama-modelfile.ts";
export type { ChatTemplateFamily, OllamaModelfileOptions } from "./ollama-modelfile.ts";
export { LoraAdapters, LoraLayer, applyLora, resolveLoraConfig, loraScaling, isLoraTarget } from "./lora.ts";
export type { LoraConfig, ResolvedLoraConfig, ApplyLoraOptions } from "./lora.ts";
export { saveLoraAdapter, loadLoraAdapter, readLoraAdapterConfig, saveMergedPretrained, peftAdapterConfig, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "./lora-checkpoint.ts";
export type { SaveLoraAdapterOptions } from "./lora-checkpoint.ts";
