/** Public API of `src/config`: YAML configs with CLI overrides, `${}` interpolation and typed schemas. */
export { ConfigError, ConfigFileError, ConfigInterpolationError, ConfigOverrideError, ConfigValidationError, type ConfigIssue } from "./errors.ts";
export { readConfigFile, parseConfigText } from "./read-config-file.ts";
export { parseOverrides, parseOverrideValue, applyOverrides, type ConfigOverride } from "./overrides.ts";
export { resolveInterpolations, type InterpolateOptions } from "./interpolate.ts";
export { validateConfig, validKeysAt, suggestKey } from "./validate.ts";
export { camelizeKeys, camelCaseKey, type CamelCase, type Camelized } from "./camel-case.ts";
export {
  loadConfig,
  loadGrpoConfig,
  loadSftConfig,
  extractConfigPath,
  type LoadConfigOptions,
  type LoadedConfig,
  type GrpoConfig,
  type SftConfig,
} from "./load-config.ts";
export { saveConfig } from "./save-config.ts";
export { grpoConfigSchema } from "./schema/grpo.ts";
export { sftConfigSchema } from "./schema/sft.ts";
export { modelSchema, datasetSchema, serviceSchema, checkpointSchema, metricLoggingSchema, evalSchema, dtypeSchema } from "./schema/common.ts";
export type { ConfigObject } from "./paths.ts";
