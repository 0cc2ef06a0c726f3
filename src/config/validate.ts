/**
 * Runs a zod schema over resolved config data and rewrites zod's issues as ConfigIssues: dotted
 * YAML path, expected vs. received, and for an unknown key the nearest valid one (Levenshtein).
 */
import { closest, distance } from "fastest-levenshtein";
import type { z } from "zod";
import { ConfigValidationError, type ConfigIssue } from "./errors.ts";
import { formatPath, getPath } from "./paths.ts";

type AnySchema = z.ZodType;
interface SchemaDef {
  type: string;
  shape?: Record<string, AnySchema>;
  innerType?: AnySchema;
  in?: AnySchema;
  options?: AnySchema[];
  valueType?: AnySchema;
  element?: AnySchema;
  items?: AnySchema[];
}

function defOf(schema: AnySchema): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** Strips optional/default/nullable/pipe wrappers; returns the candidate schemas (several for a union). */
function unwrap(schema: AnySchema): AnySchema[] {
  const def = defOf(schema);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return unwrap(def.innerType!);
    case "pipe":
      return unwrap(def.in!);
    case "union":
      return def.options!.flatMap(unwrap);
    default:
      return [schema];
  }
}

/** Valid keys of the object schema(s) at `path` inside `schema`; empty when none is an object. */
export function validKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let nodes = unwrap(schema);
  for (const seg of path) {
    const next: AnySchema[] = [];
    for (const node of nodes) {
      const def = defOf(node);
      if (def.type === "object" && def.shape && typeof seg === "string" && def.shape[seg]) next.push(...unwrap(def.shape[seg]));
      else if (def.type === "record" && def.valueType) next.push(...unwrap(def.valueType));
      else if (def.type === "array" && def.element) next.push(...unwrap(def.element));
      else if (def.type === "tuple" && def.items && typeof seg === "number" && def.items[seg]) next.push(...unwrap(def.items[seg]));
    }
    nodes = next;
  }
  const keys = new Set<string>();
  for (const node of nodes) {
    const def = defOf(node);
    if (def.type === "object" && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return [...keys];
}

/** Nearest valid key when it is close enough to be a plausible typo. */
export function suggestKey(key: string, validKeys: readonly string[]): string | undefined {
  if (validKeys.length === 0) return undefined;
  const best = closest(key, validKeys);
  const limit = Math.max(2, Math.floor(key.length / 3));
  return distance(key, best) <= limit ? best : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number" && Number.isInteger(value)) return `integer ${value}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function typeName(expected: string): string {
  return expected === "object" ? "mapping" : expected === "array" ? "list" : expected;
}

function toIssues(issue: z.core.$ZodIssue, data: unknown, schema: AnySchema, basePath: PropertyKey[] = []): ConfigIssue[] {
  const pathSegs = [...basePath, ...issue.path];
  const path = formatPath(pathSegs);
  const received = getPath(data, pathSegs.map(String));
  const got = received.found ? describe(received.value) : "nothing";
  switch (issue.code) {
    case "unrecognized_keys": {
      const valid = validKeysAt(schema, pathSegs);
      return issue.keys.map((key) => {
        const suggestion = suggestKey(key, valid);
        // A likely typo gets one suggestion; otherwise list what is allowed here.
        const message = suggestion || valid.length === 0 ? "unknown key" : `unknown key; valid keys here: ${valid.join(", ")}`;
        return { path: formatPath([...pathSegs, key]), message, suggestion };
      });
    }
    case "invalid_type":
      if (!received.found || received.value === undefined) return [{ path, message: `required ${typeName(issue.expected)} is missing` }];
      return [{ path, message: `expected ${typeName(issue.expected)}, got ${got}` }];
    case "invalid_value":
      return [{ path, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}, got ${got}` }];
    case "invalid_union": {
      // Several shapes were allowed (e.g. `model: "id"` or `model: {path: ...}`); report the one that got furthest.
      const branches = issue.errors;
      const expected = branches.map((b) => b.find((i) => i.code === "invalid_type" && i.path.length === 0)).filter(Boolean);
      if (expected.length === branches.length) {
        const names = expected.map((i) => typeName((i as z.core.$ZodIssueInvalidType).expected));
        return [{ path, message: `expected ${[...new Set(names)].join(" or ")}, got ${got}` }];
      }
      const deepest = branches.find((b) => b.every((i) => i.path.length > 0)) ?? branches[0];
      return deepest.flatMap((i) => toIssues(i, data, schema, pathSegs));
    }
    case "too_small":
    case "too_big":
    case "invalid_format":
    case "not_multiple_of":
      return [{ path, message: `${issue.message.replace(/^Too (small|big): /, "")}, got ${got}` }];
    case "custom":
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: `${issue.message}, got ${got}` }];
  }
}

/** Validates and fills defaults; throws ConfigValidationError listing every problem. */
export function validateConfig<S extends AnySchema>(schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  // Checks across several options (`custom` issues from the schemas' refinements) only mean
  // something once every field is valid; with other problems they are noise, so they wait.
  const structural = result.error.issues.filter((i) => i.code !== "custom");
  const issues = (structural.length ? structural : result.error.issues).flatMap((i) => toIssues(i, data, schema));
  throw new ConfigValidationError(issues);
}
