/** Dotted config paths (`services.ref_model.procs`, `eval.datasets.0.path`) and plain-object helpers. */

export type ConfigObject = { [key: string]: unknown };

const segmentPattern = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$/;

/** Splits `a.b.0.c` into segments; returns undefined when a segment is empty or has odd characters. */
export function splitPath(path: string): string[] | undefined {
  const parts = path.split(".");
  return parts.every((p) => segmentPattern.test(p)) ? parts : undefined;
}

export function formatPath(segments: ReadonlyArray<string | number | symbol>): string {
  return segments.map(String).join(".");
}

export function isPlainObject(value: unknown): value is ConfigObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Looks a path up; `found: false` when any segment is missing. */
export function getPath(root: unknown, segments: readonly string[]): { found: boolean; value?: unknown } {
  let node: unknown = root;
  for (const seg of segments) {
    if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) node = node[Number(seg)];
    else if (isPlainObject(node) && Object.hasOwn(node, seg)) node = node[seg];
    else return { found: false };
  }
  return { found: true, value: node };
}

/** Deep copy of YAML-shaped data (objects, arrays, scalars). */
export function cloneConfig<T>(value: T): T {
  return structuredClone(value);
}
