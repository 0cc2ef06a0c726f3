/**
 * The app reads configs as camelCase objects (`cfg.training.learningRate`), the project's naming,
 * while YAML, overrides, error paths and the saved config stay snake_case like the seed's.
 */

/** `learning_rate` → `learningRate` at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** Deeply camelCases an object type's keys. */
export type Camelized<T> = T extends readonly (infer U)[]
  ? Camelized<U>[]
  : T extends object
    ? { [K in keyof T as K extends string ? CamelCase<K> : K]: Camelized<T[K]> }
    : T;

export function camelCaseKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Deep copy with every object key camelCased (record keys such as backend names included). */
export function camelizeKeys<T>(value: T): Camelized<T> {
  if (Array.isArray(value)) return value.map((v) => camelizeKeys(v)) as Camelized<T>;
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[camelCaseKey(k)] = camelizeKeys(v);
    return out as Camelized<T>;
  }
  return value as Camelized<T>;
}
