/**
 * `${a.b}` interpolation, OmegaConf style, resolved once after overrides so references see the
 * final values. A value that is exactly one reference keeps the referenced type (`${group_size}`
 * stays a number, `${trainer.model}` copies a section); references inside longer strings are
 * stringified. `${oc.env:VAR,default}` (or `${env:VAR,default}`) reads the environment and, as in
 * OmegaConf, yields a string. `\${` is a literal `${`.
 */
import { ConfigInterpolationError } from "./errors.ts";
import { formatPath, getPath, isPlainObject, splitPath, type ConfigObject } from "./paths.ts";

const referencePattern = /\\\$\{|\$\{([^{}]*)\}/g;

export interface InterpolateOptions {
  /** Environment for `${oc.env:VAR}`. @default process.env */
  env?: Record<string, string | undefined>;
}

/** Returns a copy of `config` with every `${...}` resolved; throws ConfigInterpolationError on unknown keys or cycles. */
export function resolveInterpolations(config: ConfigObject, { env = process.env }: InterpolateOptions = {}): ConfigObject {
  const resolved = new Map<string, unknown>();
  const stack: string[] = [];

  function resolveAt(segments: string[], from: string): unknown {
    const key = formatPath(segments);
    if (resolved.has(key)) return resolved.get(key);
    const cycleStart = stack.indexOf(key);
    if (cycleStart >= 0) {
      const cycle = [...stack.slice(cycleStart), key].map((p) => p || "<root>").join(" -> ");
      throw new ConfigInterpolationError({ path: from, reason: `reference cycle: ${cycle}` });
    }
    const hit = getPath(config, segments);
    if (!hit.found) throw new ConfigInterpolationError({ path: from, reason: `\${${key}} refers to a key that does not exist` });
    stack.push(key);
    const value = resolveValue(hit.value, segments);
    stack.pop();
    resolved.set(key, value);
    return value;
  }

  function resolveValue(value: unknown, segments: string[]): unknown {
    if (typeof value === "string") return resolveString(value, formatPath(segments));
    if (Array.isArray(value)) return value.map((_, i) => resolveAt([...segments, String(i)], formatPath(segments)));
    if (isPlainObject(value)) {
      const out: ConfigObject = {};
      for (const k of Object.keys(value)) out[k] = resolveAt([...segments, k], formatPath(segments));
      return out;
    }
    return value;
  }

  function resolveReference(body: string, path: string): unknown {
    const envMatch = /^(?:oc\.env|env):([^,]*)(?:,(.*))?$/s.exec(body);
    if (envMatch) {
      const name = envMatch[1].trim();
      const fallback = envMatch[2];
      const value = env[name];
      if (value !== undefined) return value;
      if (fallback !== undefined) return fallback.trim();
      throw new ConfigInterpolationError({ path, reason: `environment variable ${name} is not set and \${${body}} gives no default (write \${oc.env:${name},default})` });
    }
    const segments = splitPath(body.trim());
    if (!segments) throw new ConfigInterpolationError({ path, reason: `\${${body}} is not a dotted key (expected like \${training.batch_size} or \${oc.env:VAR,default})` });
    return resolveAt(segments, path);
  }

  function resolveString(text: string, path: string): unknown {
    const whole = /^\$\{([^{}]*)\}$/.exec(text);
    if (whole) return resolveReference(whole[1], path);
    if (!text.includes("${")) return text;
    const out = text.replace(referencePattern, (match, body: string | undefined) => {
      if (body === undefined) return "${"; // escaped \${
      const value = resolveReference(body, path);
      if (isPlainObject(value) || Array.isArray(value)) {
        throw new ConfigInterpolationError({ path, reason: `\${${body}} is a section or list and cannot be embedded in a string` });
      }
      return String(value);
    });
    if (/(?<!\\)\$\{/.test(text) && /\$\{[^}]*$/.test(out)) {
      throw new ConfigInterpolationError({ path, reason: `unterminated \${ in ${JSON.stringify(text)}` });
    }
    return out;
  }

  return resolveAt([], "") as ConfigObject;
}
