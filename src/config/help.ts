/**
 * Command-line help generated from the config schemas, so it cannot drift from what the loader
 * accepts: every key, its type and default come from the zod schema itself, its description from
 * the schema's documentation comment (extracted into `schema/descriptions.generated.ts`), or a
 * zod `.describe()` / `.meta({ description })` where one is set.
 */
import type { z } from "zod";
import * as common from "./schema/common.ts";
import { CONFIG_DESCRIPTIONS } from "./schema/descriptions.generated.ts";
import * as grpo from "./schema/grpo.ts";
import * as sft from "./schema/sft.ts";

type Schema = z.ZodType;
// zod v4's internal definition: every schema has `_zod.def.type`; the other fields depend on it.
type Def = { type: string; [k: string]: unknown };
const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** One documented config key. */
export interface ConfigKeyDoc {
  /** Dotted path (`training.batch_size`; `[]` marks list items, `*` map values). */
  path: string;
  type: string;
  /** The default rendered as YAML-ish text; undefined when the key is required or has none. */
  default?: string;
  optional: boolean;
  description?: string;
}

// Object schema (identity) → its exported variable name, and field schema → description, so a
// key is described wherever its schema is reused (`datasetSchema.extend`, shared field schemas).
const OWNERS = new Map<Schema, string>();
const FIELD_DESCRIPTIONS = new Map<Schema, string>();
for (const mod of [common, grpo, sft]) {
  for (const [name, value] of Object.entries(mod)) {
    const obj = value && typeof value === "object" && "_zod" in value ? objectOf(value as Schema) : undefined;
    if (!obj) continue;
    if (!OWNERS.has(obj)) OWNERS.set(obj, name);
    for (const [key, field] of Object.entries(defOf(obj).shape as Record<string, Schema>)) {
      const text = CONFIG_DESCRIPTIONS[`${name}.${key}`];
      if (text !== undefined && !FIELD_DESCRIPTIONS.has(field)) FIELD_DESCRIPTIONS.set(field, text);
    }
  }
}

/**
 * True when `path` names a section the schema fills with defaults when it is absent (a
 * `.prefault({})` section such as `training`): removing it (`~training`) would silently run with
 * every default, so the override layer refuses it. Optional sections (`services.ref_model`) are not.
 */
export function isDefaultedSection(schema: Schema, path: readonly string[]): boolean {
  let s: Schema | undefined = schema;
  for (const [i, key] of path.entries()) {
    const obj: Schema | undefined = s ? objectOf(s) : undefined;
    const field: Schema | undefined = obj ? (defOf(obj).shape as Record<string, Schema>)[key] : undefined;
    if (!field) return false;
    if (i === path.length - 1) return defOf(field).type === "prefault";
    s = field;
  }
  return false;
}

/** The object schema under optional/nullable/default/prefault/pipe wrappers, if any. */
function objectOf(s: Schema): Schema | undefined {
  const d = defOf(s);
  switch (d.type) {
    case "object":
      return s;
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
      return objectOf(d.innerType as Schema);
    case "pipe":
      return objectOf(d.in as Schema) ?? objectOf(d.out as Schema);
    default:
      return undefined;
  }
}

function explicitDescription(s: Schema): string | undefined {
  return (s as unknown as { description?: string }).description;
}

function formatValue(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return v === "" ? '""' : /^[\w./~:-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** Human type label: `int > 0`, `"k1" | "k2"`, `list of string`, `number | null`. */
function typeLabel(s: Schema): string {
  const d = defOf(s);
  switch (d.type) {
    case "optional":
    case "default":
    case "prefault":
    case "readonly":
      return typeLabel(d.innerType as Schema);
    case "nullable":
      return `${typeLabel(d.innerType as Schema)} | null`;
    case "pipe":
      return typeLabel(d.in as Schema);
    case "number": {
      const checks = ((d.checks as { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[]) ?? []).map((c) => c._zod.def);
      const base = checks.some((c) => c.format === "safeint" || c.format === "int32") ? "int" : "number";
      const bound = (c: (typeof checks)[number]) => `${c.check === "greater_than" ? ">" : "<"}${c.inclusive ? "=" : ""} ${c.value}`;
      const bounds = checks.filter((c) => c.check === "greater_than" || c.check === "less_than").map(bound);
      return bounds.length > 0 ? `${base} ${bounds.join(", ")}` : base;
    }
    case "enum":
      return Object.values(d.entries as Record<string, string>).map((v) => formatValue(v)).join(" | ");
    case "literal":
      return (d.values as unknown[]).map((v) => formatValue(v)).join(" | ");
    case "array":
      return `list of ${typeLabel(d.element as Schema)}`;
    case "tuple":
      return `[${(d.items as Schema[]).map(typeLabel).join(", ")}]`;
    case "record":
      return `map of ${typeLabel(d.valueType as Schema)}`;
    case "union":
      return [...new Set((d.options as Schema[]).map(typeLabel))].join(" | ");
    case "object":
      return "section";
    default:
      return d.type;
  }
}

/** Default and optionality of a field, looking through its wrappers. */
function defaultOf(s: Schema): { default?: string; optional: boolean } {
  const d = defOf(s);
  if (d.type === "default") {
    const v = d.defaultValue;
    return { default: formatValue(typeof v === "function" ? (v as () => unknown)() : v), optional: true };
  }
  if (d.type === "prefault") return { optional: true }; // a section whose fields carry the defaults
  if (d.type === "optional") return { optional: true, ...pick(defaultOf(d.innerType as Schema)) };
  if (d.type === "nullable") return defaultOf(d.innerType as Schema);
  return { optional: false };
}
const pick = (o: { default?: string }) => (o.default !== undefined ? { default: o.default } : {});

/** Every key of `schema` (recursively, through sections, lists, maps and unions) with its docs. */
export function configKeyDocs(schema: Schema): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const visit = (s: Schema, path: string, owner: string | undefined, ownerPath: string, depth: number) => {
    if (depth > 8) return;
    const d = defOf(s);
    const obj = objectOf(s);
    if (obj) {
      const name = OWNERS.get(obj);
      const [o, op] = name !== undefined ? [name, ""] : [owner, ownerPath];
      for (const [key, field] of Object.entries(defOf(obj).shape as Record<string, Schema>)) {
        const childPath = path === "" ? key : `${path}.${key}`;
        const rel = op === "" ? key : `${op}.${key}`;
        const description = explicitDescription(field) ?? (o !== undefined ? CONFIG_DESCRIPTIONS[`${o}.${rel}`] : undefined) ?? FIELD_DESCRIPTIONS.get(field);
        out.push({ path: childPath, type: typeLabel(field), ...defaultOf(field), ...(description !== undefined ? { description } : {}) });
        visit(field, childPath, o, rel, depth + 1);
      }
      return;
    }
    switch (d.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
        return visit(d.innerType as Schema, path, owner, ownerPath, depth);
      case "array":
        return visit(d.element as Schema, `${path}[]`, owner, ownerPath, depth + 1);
      case "record":
        return visit(d.valueType as Schema, `${path}.*`, owner, ownerPath, depth + 1);
      case "union":
        for (const option of d.options as Schema[]) visit(option, path, owner, ownerPath, depth + 1);
        return;
      case "pipe":
        return visit(d.in as Schema, path, owner, ownerPath, depth);
    }
  };
  visit(schema, "", undefined, "", 0);
  // A key reached through several union branches is listed once.
  const seen = new Set<string>();
  return out.filter((k) => (seen.has(k.path) ? false : (seen.add(k.path), true)));
}

export interface ConfigHelpOptions {
  /** One line per section: its keys with their defaults (for `forge --help`). @default false */
  brief?: boolean;
}

/**
 * The config reference of one app as text: top-level keys first, then one block per section with
 * each key's type, default and description.
 */
export function formatConfigHelp(schema: Schema, options: ConfigHelpOptions = {}): string {
  const docs = configKeyDocs(schema);
  const top = docs.filter((k) => !k.path.includes(".") && !k.path.includes("["));
  const lines: string[] = [];
  const line = (k: ConfigKeyDoc, label: string) => {
    const dflt = k.default !== undefined ? ` = ${k.default}` : k.optional ? " (optional)" : " (required)";
    lines.push(`  ${label}: ${k.type}${dflt}`);
    if (k.description) lines.push(`      ${k.description}`);
  };
  const scalars = top.filter((k) => k.type !== "section" && !docs.some((c) => c.path.startsWith(`${k.path}.`) || c.path.startsWith(`${k.path}[]`)));
  const sections = top.filter((k) => !scalars.includes(k));
  if (options.brief) {
    for (const s of sections) {
      const keys = docs
        .filter((k) => (k.path.startsWith(`${s.path}.`) || k.path.startsWith(`${s.path}[]`)) && k.type !== "section")
        .map((k) => `${k.path.slice(s.path.length).replace(/^\./, "")}${k.default !== undefined ? `=${k.default}` : ""}`);
      lines.push(`  ${s.path}: ${keys.join(", ")}`);
    }
    if (scalars.length > 0) lines.push(`  (top level): ${scalars.map((k) => `${k.path}${k.default !== undefined ? `=${k.default}` : ""}`).join(", ")}`);
    return lines.join("\n");
  }
  if (scalars.length > 0) {
    lines.push("top-level keys");
    for (const k of scalars) line(k, k.path);
    lines.push("");
  }
  for (const s of sections) {
    lines.push(`${s.path}${s.description ? ` — ${s.description}` : ""}`);
    for (const k of docs) {
      if (k.path.startsWith(`${s.path}.`) || k.path.startsWith(`${s.path}[]`)) {
        if (k.type === "section") continue; // its keys follow with their full paths
        line(k, k.path.slice(s.path.length).replace(/^\./, ""));
      }
    }
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}
