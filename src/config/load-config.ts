/**
 * The whole pipeline, in the order that makes overrides and references behave as users expect:
 * read YAML → apply overrides and `~` removals → resolve `${...}` → validate + defaults → camelCase.
 */
import type { z } from "zod";
import { camelizeKeys, type Camelized } from "./camel-case.ts";
import { ConfigOverrideError } from "./errors.ts";
import { resolveInterpolations } from "./interpolate.ts";
import { applyOverrides, parseOverrides } from "./overrides.ts";
import type { ConfigObject } from "./paths.ts";
import { readConfigFile } from "./read-config-file.ts";
import { grpoConfigSchema } from "./schema/grpo.ts";
import { sftConfigSchema } from "./schema/sft.ts";
import { validateConfig } from "./validate.ts";
import { grpoServiceShorthands, sftServiceShorthands } from "./service-shorthands.ts";
import { isDefaultedSection } from "./help.ts";
import { unreadGrpoSeedKeys } from "./unread-seed-keys.ts";

export interface LoadConfigOptions {
  /** YAML file to start from; omitted: start from an empty mapping. */
  path?: string;
  /** Already-parsed data to start from instead of `path` (tests, programmatic use). */
  data?: ConfigObject;
  /** Command-line overrides (`a.b=1`, `--a.b 1`, `--a.b=1`, `~a.b`). @default [] */
  overrides?: readonly string[];
  /** Environment for `${oc.env:VAR}`. @default process.env */
  env?: Record<string, string | undefined>;
}

export interface LoadedConfig<S extends z.ZodType> {
  /** Typed, defaults filled, keys camelCased: what the app reads. */
  config: Camelized<z.output<S>>;
  /** Same values with the YAML's snake_case keys: what `saveConfig` writes with the run. */
  snake: z.output<S>;
  /** Things the app should say at start-up (keys it accepts but does not read). */
  warnings: string[];
}

/** Loads a config against any schema. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  opts: LoadConfigOptions = {},
  /** App-specific rewriting after overrides (the seed's placement shorthands). */
  normalize: (data: ConfigObject) => ConfigObject = (d) => d,
  /** Warnings about the resolved data (before defaults). */
  check: (data: ConfigObject) => string[] = () => [],
): LoadedConfig<S> {
  const base = opts.data ?? (opts.path === undefined ? {} : readConfigFile(opts.path));
  const overrides = parseOverrides(opts.overrides ?? []);
  for (const ov of overrides) {
    if (ov.kind === "remove" && isDefaultedSection(schema, ov.path)) {
      throw new ConfigOverrideError({
        override: ov.source,
        reason: `'${ov.path.join(".")}' is not optional: without it the run would silently use all of its defaults; remove or override its keys instead (e.g. ~${ov.path.join(".")}.<key>)`,
      });
    }
  }
  const withOverrides = normalize(applyOverrides(base, overrides));
  const resolved = resolveInterpolations(withOverrides, { env: opts.env });
  const snake = validateConfig(schema, resolved);
  return { config: camelizeKeys(snake), snake, warnings: check(resolved) };
}

export type GrpoConfig = Camelized<z.output<typeof grpoConfigSchema>>;
export type SftConfig = Camelized<z.output<typeof sftConfigSchema>>;

export function loadGrpoConfig(opts: LoadConfigOptions = {}): LoadedConfig<typeof grpoConfigSchema> {
  return loadConfig(grpoConfigSchema, opts, grpoServiceShorthands, (data) => {
    const unread = unreadGrpoSeedKeys(data);
    if (unread.length === 0) return [];
    return [`config: the GRPO app reads the primary layout; these keys of the seed's layout are accepted but NOT read:\n${unread.map((u) => `  ${u}`).join("\n")}`];
  });
}

export function loadSftConfig(opts: LoadConfigOptions = {}): LoadedConfig<typeof sftConfigSchema> {
  return loadConfig(sftConfigSchema, opts, sftServiceShorthands);
}

/**
 * Splits a command line into the `--config` file and everything else (overrides and the CLI's
 * own flags, which the caller filters before `parseOverrides`). Accepts `--config p`, `--config=p`, `-c p`.
 */
export function extractConfigPath(argv: readonly string[]): { configPath?: string; rest: string[] } {
  const rest: string[] = [];
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--config" || arg === "-c") {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("-")) throw new ConfigOverrideError({ override: arg, reason: "missing file path after --config" });
      configPath = next;
      i++;
    } else if (arg.startsWith("--config=")) configPath = arg.slice("--config=".length);
    else rest.push(arg);
  }
  return { configPath, rest };
}
