/**
 * Reads a YAML config file into plain data, turning I/O and syntax problems into ConfigFileError.
 * Note for config authors: inside a flow mapping (`{a: ...}`) a `${ref}` value must be quoted, as
 * `{` would otherwise open a nested mapping; in block style `key: ${ref}` needs no quotes.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { ConfigFileError } from "./errors.ts";
import { isPlainObject, type ConfigObject } from "./paths.ts";

/** Parses YAML text; `source` names the file in error messages. */
export function parseConfigText(text: string, { source }: { source: string }): ConfigObject {
  // YAML 1.2 core schema: `1e-5` is a number (PyYAML would read it as a string).
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    const reason = first.message.split("\n")[0];
    throw new ConfigFileError({ path: source, line, reason: `invalid YAML: ${reason}`, cause: first });
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) {
    throw new ConfigFileError({ path: source, reason: `top level must be a mapping of keys, got ${Array.isArray(data) ? "a list" : typeof data}` });
  }
  return data;
}

/** Reads and parses a YAML config file. */
export function readConfigFile(path: string): ConfigObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, expected a YAML file" : `cannot read (${code ?? String(err)})`;
    throw new ConfigFileError({ path, reason, cause: err });
  }
  return parseConfigText(text, { source: path });
}
