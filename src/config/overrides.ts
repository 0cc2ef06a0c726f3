/**
 * Command-line overrides, in the spellings users bring from Hydra/OmegaConf and argparse:
 *   training.learning_rate=3e-6    --services.trainer.procs 4    --services.trainer.procs=4
 *   ~services.ref_model            (removes a key or a whole section)
 * Values are read as YAML flow scalars: numbers, true/false, null, [a, b] lists, {k: v} maps, strings.
 */
import { parse as parseYaml } from "yaml";
import { ConfigOverrideError } from "./errors.ts";
import { cloneConfig, formatPath, isPlainObject, splitPath, type ConfigObject } from "./paths.ts";

export type ConfigOverride =
  | { kind: "set"; path: string[]; value: unknown; source: string }
  | { kind: "remove"; path: string[]; source: string };

/** Parses an override's value text: `3e-6` → 3e-6, `true` → true, `null` → null, `[a,b]` → ["a","b"], else the string. */
export function parseOverrideValue(text: string, { source }: { source?: string } = {}): unknown {
  if (text.trim() === "") return "";
  try {
    return parseYaml(text);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    throw new ConfigOverrideError({ override: source ?? text, reason: `cannot parse value ${JSON.stringify(text)}: ${reason}`, cause: err });
  }
}

function parseKey(key: string, source: string): string[] {
  const segments = splitPath(key);
  if (!segments) {
    throw new ConfigOverrideError({
      override: source,
      reason: `key ${JSON.stringify(key)} is not a dotted path of names (expected like training.learning_rate)`,
    });
  }
  return segments;
}

/** Turns argv-style strings into overrides; throws ConfigOverrideError on anything else. */
export function parseOverrides(args: readonly string[]): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("~")) {
      if (arg.includes("=")) throw new ConfigOverrideError({ override: arg, reason: "a removal (~key) takes no value" });
      out.push({ kind: "remove", path: parseKey(arg.slice(1), arg), source: arg });
    } else if (arg.startsWith("--")) {
      const body = arg.slice(2);
      const eq = body.indexOf("=");
      if (eq >= 0) {
        out.push({ kind: "set", path: parseKey(body.slice(0, eq), arg), value: parseOverrideValue(body.slice(eq + 1), { source: arg }), source: arg });
        continue;
      }
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new ConfigOverrideError({ override: arg, reason: `missing value (expected "${arg} <value>" or "${arg}=<value>")` });
      }
      const source = `${arg} ${next}`;
      out.push({ kind: "set", path: parseKey(body, source), value: parseOverrideValue(next, { source }), source });
      i++;
    } else {
      const eq = arg.indexOf("=");
      if (eq < 0) {
        throw new ConfigOverrideError({ override: arg, reason: "expected key=value, --key value, --key=value or ~key" });
      }
      out.push({ kind: "set", path: parseKey(arg.slice(0, eq), arg), value: parseOverrideValue(arg.slice(eq + 1), { source: arg }), source: arg });
    }
  }
  return out;
}

/** Returns a copy of `config` with the overrides applied in order. Missing sections are created on set. */
export function applyOverrides(config: ConfigObject, overrides: readonly ConfigOverride[]): ConfigObject {
  const root = cloneConfig(config);
  for (const ov of overrides) {
    let node: unknown = root;
    for (let d = 0; d < ov.path.length - 1; d++) {
      const seg = ov.path[d];
      const container = node as ConfigObject | unknown[];
      let child = Array.isArray(container) ? container[Number(seg)] : container[seg];
      if (child === undefined || child === null) {
        if (ov.kind === "remove") throw new ConfigOverrideError({ override: ov.source, reason: `nothing to remove: ${formatPath(ov.path.slice(0, d + 1))} is not set` });
        child = {};
        if (Array.isArray(container)) container[Number(seg)] = child;
        else container[seg] = child;
      }
      if (!isPlainObject(child) && !Array.isArray(child)) {
        throw new ConfigOverrideError({
          override: ov.source,
          reason: `${formatPath(ov.path.slice(0, d + 1))} is a ${typeof child} (${JSON.stringify(child)}), not a section, so it has no key "${ov.path[d + 1]}"`,
        });
      }
      node = child;
    }
    const last = ov.path[ov.path.length - 1];
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(last)) throw new ConfigOverrideError({ override: ov.source, reason: `${formatPath(ov.path.slice(0, -1))} is a list; index it with a number` });
      const index = Number(last);
      if (ov.kind === "remove") {
        if (index >= node.length) throw new ConfigOverrideError({ override: ov.source, reason: `nothing to remove: ${formatPath(ov.path)} is not set` });
        node.splice(index, 1);
      } else node[index] = ov.value;
    } else {
      const obj = node as ConfigObject;
      if (ov.kind === "remove") {
        if (!Object.hasOwn(obj, last)) throw new ConfigOverrideError({ override: ov.source, reason: `nothing to remove: ${formatPath(ov.path)} is not set` });
        delete obj[last];
      } else obj[last] = ov.value;
    }
  }
  return root;
}
